// Conformance kits for adapters: `@smsbatch/core/testing`.
export {};
