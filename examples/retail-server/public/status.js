// The status page: polls the shop's campaigns, balance and the selected campaign's batches once
// a second through the same HTTP API a shop would use, and creates test campaigns. Data from the
// server is only ever written as text, never as HTML.

const POLL_MS = 1000;
const COUNT_FIELDS = [
  'queued',
  'sending',
  'sent',
  'delivered',
  'failed',
  'unknown',
  'skipped',
  'cancelled',
];
const LIVE = new Set(['scheduled', 'sending', 'paused']);
const NAMES = ['Ann', 'Nikos', 'Maria', 'Yannis', 'Eleni', 'Kostas', 'Sofia', 'Dimitris'];

const $ = (selector, root = document) => root.querySelector(selector);
const state = {
  apiKey: '',
  selected: null,
  /** Per campaign: last processed count and time, and a smoothed rate (messages/s). */
  rates: new Map(),
  polling: false,
  timer: null,
};

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${state.apiKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const issues = (data?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
    const error = new Error([data?.detail ?? response.statusText, ...issues].join(' · '));
    error.status = response.status;
    throw error;
  }
  return data;
}

function setConnection(text, stateName) {
  const badge = $('#connection');
  badge.textContent = text;
  badge.dataset.state = stateName;
}

const number = (n) => (n ?? 0).toLocaleString('en');

function processedOf(c) {
  return c.total - c.queued - c.sending;
}

function rateOf(c) {
  const now = performance.now();
  const processed = processedOf(c);
  if (!LIVE.has(c.status) && c.startedAt && c.finishedAt) {
    const seconds = Math.max((Date.parse(c.finishedAt) - Date.parse(c.startedAt)) / 1000, 0.001);
    return processed / seconds;
  }
  const last = state.rates.get(c.id);
  let rate = last?.rate ?? 0;
  if (last && now > last.at) {
    const instant = ((processed - last.processed) * 1000) / (now - last.at);
    rate = last.rate === 0 ? instant : 0.6 * last.rate + 0.4 * instant;
  }
  state.rates.set(c.id, { processed, at: now, rate });
  return rate;
}

function renderCampaign(c) {
  const list = $('#campaign-list');
  let card = list.querySelector(`[data-campaign-id="${CSS.escape(c.id)}"]`);
  if (!card) {
    card = $('#campaign-template').content.firstElementChild.cloneNode(true);
    card.dataset.campaignId = c.id;
    $('.name', card).textContent = c.name;
    $('.id', card).textContent = c.id;
    const counts = $('.counts', card);
    for (const field of COUNT_FIELDS) {
      const wrap = document.createElement('div');
      wrap.className = `count ${field}`;
      const dt = document.createElement('dt');
      dt.textContent = field;
      const dd = document.createElement('dd');
      dd.dataset.field = field;
      wrap.append(dt, dd);
      counts.append(wrap);
    }
    card.addEventListener('click', (event) => onCardAction(event, c.id));
  }
  card.dataset.status = c.status;
  card.classList.toggle('selected', state.selected === c.id);
  $('.status', card).textContent = c.status;
  $('.status', card).className = `status ${c.status}`;

  const total = Math.max(c.total, 1);
  const percent = c.total === 0 ? 0 : Math.floor((processedOf(c) * 100) / total);
  const bar = $('.bar', card);
  bar.setAttribute('aria-valuenow', String(percent));
  $('.seg.delivered', bar).style.width = `${(c.delivered * 100) / total}%`;
  $('.seg.sent', bar).style.width = `${(c.sent * 100) / total}%`;
  $('.seg.unknown', bar).style.width = `${(c.unknown * 100) / total}%`;
  $('.seg.failed', bar).style.width = `${(c.failed * 100) / total}%`;
  $('.seg.skipped', bar).style.width = `${((c.skipped + c.cancelled) * 100) / total}%`;
  $('.percent', card).textContent = `${percent}%`;
  const rate = rateOf(c);
  $('.rate', card).textContent =
    c.status === 'draft' || c.status === 'scheduled'
      ? ''
      : `${rate < 10 ? rate.toFixed(1) : number(Math.round(rate))} msg/s`;
  $('.credits', card).textContent =
    `credits reserved ${number(c.creditsReserved)} · debited ${number(c.creditsDebited)}`;
  for (const field of COUNT_FIELDS) {
    $(`dd[data-field="${field}"]`, card).textContent = number(c[field]);
  }
  $('[data-action="pause"]', card).hidden = c.status !== 'sending';
  $('[data-action="resume"]', card).hidden = c.status !== 'paused';
  $('[data-action="cancel"]', card).hidden = !['draft', 'scheduled', 'sending', 'paused'].includes(
    c.status,
  );
  return card;
}

async function onCardAction(event, id) {
  const action = event.target.closest('button')?.dataset.action;
  if (!action || action === 'batches') {
    state.selected = id;
    $('#batches-of').textContent = id;
    poll();
    return;
  }
  try {
    await api('POST', `/campaigns/${encodeURIComponent(id)}/${action}`);
  } catch (error) {
    showResult(error.message, true);
  }
  poll();
}

function renderBatches(items) {
  const body = $('#batch-table tbody');
  const rows = items.map((b) => {
    const tr = document.createElement('tr');
    const cells = [
      b.batchNo,
      b.status,
      number(b.size),
      b.attempts,
      number(b.sent),
      number(b.delivered),
      number(b.failed),
      b.bulkId ?? '–',
      b.lastError ?? '',
    ];
    cells.forEach((value, i) => {
      const td = document.createElement('td');
      td.textContent = String(value);
      if (i >= 2 && i <= 6) td.className = 'num';
      if (i === 1) td.className = `status-cell ${b.status}`;
      tr.append(td);
    });
    return tr;
  });
  body.replaceChildren(...rows);
}

async function poll() {
  if (!state.apiKey || state.polling) return;
  state.polling = true;
  try {
    const [balance, campaigns] = await Promise.all([
      api('GET', '/balance'),
      api('GET', '/campaigns?limit=20'),
    ]);
    $('#balance').textContent = number(balance.balance);
    $('#reserved').textContent = number(balance.reserved);
    $('#available').textContent = number(balance.available);

    const cards = campaigns.items.map(renderCampaign);
    $('#campaign-list').replaceChildren(...cards);
    $('#campaigns-empty').hidden = cards.length > 0;
    $('#campaigns-empty').textContent = 'No campaigns yet: create one with the form.';
    $('#campaign-count-label').textContent = `${campaigns.items.length} shown`;

    if (!state.selected && campaigns.items[0]) state.selected = campaigns.items[0].id;
    if (state.selected) {
      $('#batches-of').textContent = state.selected;
      const batches = await api(
        'GET',
        `/campaigns/${encodeURIComponent(state.selected)}/batches?limit=200`,
      );
      renderBatches(batches.items);
    }
    setConnection('live', 'live');
  } catch (error) {
    setConnection(
      error.status === 401 ? 'API key not accepted' : `error: ${error.message}`,
      'error',
    );
  } finally {
    state.polling = false;
  }
}

function connect(apiKey) {
  state.apiKey = apiKey.trim();
  state.selected = null;
  state.rates.clear();
  $('#campaign-list').replaceChildren();
  if (!state.apiKey) {
    setConnection('not connected', 'idle');
    return;
  }
  localStorage.setItem('smsbatch.apiKey', state.apiKey);
  setConnection('connecting…', 'idle');
  clearInterval(state.timer);
  state.timer = setInterval(poll, POLL_MS);
  poll();
}

const modeOf = () => $('input[name="mode"]:checked').value;

function showResult(text, isError = false) {
  const out = $('#form-result');
  out.textContent = text;
  out.classList.toggle('error', isError);
}

function recipientsFromForm() {
  if (modeOf() === 'paste') {
    return $('#campaign-phones')
      .value.split(/[\s,;]+/)
      .filter(Boolean)
      .map((phone, i) => ({ phone, vars: { name: NAMES[i % NAMES.length] } }));
  }
  const count = Number($('#campaign-count').value);
  // Distinct Greek mobile numbers: a random start, then consecutive.
  const start = Math.floor(Math.random() * 8_000_000);
  return Array.from({ length: count }, (_, i) => ({
    phone: `+30697${String(1_000_000 + start + i)
      .padStart(7, '0')
      .slice(-7)}`,
    contactId: `c-${start + i}`,
    vars: { name: NAMES[i % NAMES.length] },
  }));
}

async function onCreate(event) {
  event.preventDefault();
  if (!state.apiKey) {
    showResult('Connect with an API key first.', true);
    return;
  }
  const button = $('#create-campaign');
  button.disabled = true;
  showResult('Creating…');
  try {
    const created = await api('POST', '/campaigns', {
      name: $('#campaign-name').value,
      text: $('#campaign-text').value,
      recipients: recipientsFromForm(),
    });
    state.selected = created.id;
    if ($('#campaign-enqueue').checked) {
      const enqueued = await api('POST', `/campaigns/${encodeURIComponent(created.id)}/enqueue`);
      showResult(
        `Campaign ${created.id}: ${enqueued.status}, ${number(enqueued.total)} recipients.`,
      );
    } else {
      showResult(`Draft ${created.id} created with ${number(created.total)} recipients.`);
    }
  } catch (error) {
    showResult(error.message, true);
  } finally {
    button.disabled = false;
    poll();
  }
}

function init() {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('key');
  if (fromUrl) {
    // Keep the key out of the address bar and the history once it is read.
    params.delete('key');
    const rest = params.toString();
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}`);
  }
  const apiKey = fromUrl ?? localStorage.getItem('smsbatch.apiKey') ?? '';
  $('#api-key').value = apiKey;

  $('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    connect($('#api-key').value);
  });
  const form = $('#new-campaign');
  form.addEventListener('submit', onCreate);
  for (const radio of form.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener('change', () => {
      const isPaste = modeOf() === 'paste';
      $('#campaign-phones').disabled = !isPaste;
      $('#campaign-count').disabled = isPaste;
    });
  }
  if (apiKey) connect(apiKey);
}

init();
