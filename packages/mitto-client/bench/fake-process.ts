// Runs the fake Mitto in its own process so the benchmark's client and the fake do not share an
// event loop (on two cores each gets one). Sends its URL over IPC, then serves until told to stop.

import { startFakeMitto } from '@smsbatch/mitto-client/testing';

const fake = await startFakeMitto({ apiKey: 'bench-key', recordAccepted: false });
process.send!({ type: 'ready', url: fake.url });
process.on('message', async (message: { type: string }) => {
  if (message.type === 'stop') {
    await fake.close();
    process.disconnect();
  }
});
