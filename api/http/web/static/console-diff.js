// The changes between a published version and the draft, field by field. Both sides get a template's
// defaults first: the form writes only what differs from them, a catalogue file may spell them out, and
// neither is a change a learner would see.

import { DEFAULT_PALETTE } from './console-form.js';

const VARIABLE = { label: '', type: 'text', max_length: 60, choices: [], required: true, default: null, sample: null,
  hint: '' };
const TEMPLATE = { negative_prompt: '', caption: '', needs_input_image: false, featured: false, sort_order: 0,
  translations: {}, variables: [] };

function normal(fields) {
  const { version, ...rest } = fields || {};
  const model = { parameters: {}, prices: {}, ...(rest.model || {}) };
  // The fallback order matters: a list of pairs shows a reordering as a change.
  model.alternatives = Object.entries(model.alternatives || {});
  return { ...TEMPLATE, palette: DEFAULT_PALETTE, ...rest, model,
    variables: (rest.variables || []).map((v) => ({ ...VARIABLE, ...v })) };
}

function flatten(value, prefix = '', out = {}) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else if (Array.isArray(value) && value.some((item) => item && typeof item === 'object' && !Array.isArray(item))) {
    value.forEach((item, index) => flatten(item, `${prefix}.${index}`, out));
  } else {
    out[prefix] = value === undefined ? '' : JSON.stringify(value);
  }
  return out;
}

export function changes(published, draft) {
  const before = flatten(normal(published));
  const after = flatten(normal(draft));
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((key) => before[key] !== after[key])
    .sort()
    .map((key) => ({ key, before: before[key] ?? '', after: after[key] ?? '' }));
}
