// The template form: a control for every field of a catalogue file (the layout as a JSON box for experts),
// filled from a template's fields and read back as the same fields. Every control carries the path the
// API's 422 problems name (`variables.2.max_length`), so a problem is shown at its control.

export const DEFAULT_PALETTE = ['#1f2937', '#f59e0b', '#f9fafb'];  // media.templates.Template's default
const LANGUAGE_NAMES = { en: 'English', hi: 'हिन्दी', mr: 'मराठी', ta: 'தமிழ்', te: 'తెలుగు' };
const $ = (id) => document.getElementById(id);
let made = 0;
const uid = () => `c${++made}`;

export const languageName = (code) => LANGUAGE_NAMES[code] || code;

export class NotJson extends Error {
  constructor(path, problem) { super(problem); this.path = path; }
}

function node(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key in element && !key.includes('-')) element[key] = value;
    else element.setAttribute(key, value);
  }
  element.append(...children.filter((c) => c !== null && c !== undefined));
  return element;
}

export function makeForm({ t, config }) {
  const vars = $('variables');
  const languages = new Map();  // code -> { box, title, description, labels: Map(var uid -> input), slots: [input] }

  // A labelled control in a .field box that holds the path its problems name.
  function field({ label, path, control, hint, check = false }) {
    const id = uid();
    control.id = id;
    const box = node('div', { className: check ? 'field field-check' : 'field', dataset: { path } });
    const text = node('label', { className: 'label', htmlFor: id }, label);
    if (hint) {
      const hintId = `${id}-hint`;
      control.setAttribute('aria-describedby', hintId);
      box.append(node('p', { className: 'hint', id: hintId }, hint));
    }
    if (check) {
      box.prepend(control, text);
    } else {
      box.prepend(text);
      box.append(control);
    }
    return box;
  }

  function rowButtons(row, list, after) {
    const move = (step) => {
      const to = step < 0 ? row.previousElementSibling : row.nextElementSibling;
      if (!to) return;
      if (step < 0) list.insertBefore(row, to); else list.insertBefore(to, row);
      after();
      row.querySelector('button[data-step="' + step + '"]').focus();
    };
    return node('div', { className: 'row-actions' },
      node('button', { type: 'button', className: 'button secondary small', dataset: { step: '-1' },
        onclick: () => move(-1) }, t('console_move_up')),
      node('button', { type: 'button', className: 'button secondary small', dataset: { step: '1' },
        onclick: () => move(1) }, t('console_move_down')),
      node('button', { type: 'button', className: 'button secondary small', onclick: () => {
        const next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        after();
        (next ? next.querySelector('input, select') : list.nextElementSibling).focus();
      } }, t('console_remove')));
  }

  // -- palette -------------------------------------------------------------------------------------------
  function addColour(value) {
    const input = node('input', { className: 'swatch', type: 'color', value });
    const row = node('li', {}, field({ label: '', path: '', control: input }),
      node('button', { type: 'button', className: 'button secondary small remove-colour', onclick: () => {
        row.remove();
        renumber();
        $('add-colour').focus();
      } }));
    $('palette').append(row);
    renumber();
    return input;
  }

  // -- fallback models -----------------------------------------------------------------------------------
  function addAlternative(provider = 'huggingface', model = '') {
    const select = node('select', { className: 'select' },
      ...config.providers.map((p) => node('option', { value: p }, p)));
    select.value = provider;
    select.addEventListener('change', renumber);
    const input = node('input', { className: 'input', type: 'text', value: model });
    const row = node('li', { className: 'row' }, node('fieldset', { className: 'group inner' }, node('legend'),
      field({ label: '', path: '', control: select }), field({ label: '', path: '', control: input })));
    row.firstChild.append(rowButtons(row, $('alternatives'), renumber));
    $('alternatives').append(row);
    renumber();
    return select;
  }

  // -- variables -----------------------------------------------------------------------------------------
  function addVariable(spec = {}) {
    const key = uid();
    const type = node('select', { className: 'select' },
      ...['text', 'choice', 'color'].map((k) => node('option', { value: k }, t(`console_type_${k}`))));
    type.value = spec.type || 'text';
    const required = node('input', { className: 'check', type: 'checkbox', checked: spec.required !== false });
    const input = (value, extra = {}) => node('input', { className: 'input', type: 'text', value: value ?? '', ...extra });
    const parts = {
      name: input(spec.name, { autocomplete: 'off', spellcheck: false }),
      label: input(spec.label),
      type,
      max_length: node('input', { className: 'input short', type: 'number', min: '1', max: '200', inputmode: 'numeric',
        value: spec.max_length ?? '' }),
      choices: node('textarea', { className: 'input', rows: 3, value: (spec.choices || []).join('\n') }),
      default: input(spec.default),
      sample: input(spec.sample),
      hint: input(spec.hint),
      required,
    };
    const hints = { name: t('console_var_name_hint'), choices: t('console_var_choices_hint') };
    const group = node('fieldset', { className: 'group inner' }, node('legend'),
      ...Object.entries(parts).map(([name, control]) => field({
        label: t(`console_var_${name}`), path: name, control, hint: hints[name], check: name === 'required' })));
    const row = node('li', { className: 'row', dataset: { key } }, group);
    group.append(rowButtons(row, vars, renumber));
    vars.append(row);
    parts.name.addEventListener('input', () => refreshLabels());
    // Choices belong to a choice, a length to text: the other type's control is hidden, not cleared.
    const shown = () => {
      for (const [name, kinds] of [['choices', ['choice']], ['max_length', ['text']]]) {
        parts[name].closest('.field').hidden = !kinds.includes(type.value) && !parts[name].value;
      }
    };
    type.addEventListener('change', shown);
    shown();
    renumber();
    return parts.name;
  }

  // -- translations --------------------------------------------------------------------------------------
  function slotsOf(layoutText) {
    try {
      const layout = JSON.parse(layoutText || '{}');
      return Array.isArray(layout.slots) ? layout.slots : [];
    } catch {
      return null;  // not JSON yet: the slots' inputs stay as they are
    }
  }

  function addLanguage(code, words = {}, slotWords = []) {
    const name = languageName(code);
    const box = node('fieldset', { className: 'group inner', dataset: { path: `translations.${code}`, lang: code } },
      node('legend', { lang: code }, `${name} (${code})`));
    const title = node('input', { className: 'input', type: 'text', lang: code, value: words.title || '' });
    const description = node('textarea', { className: 'input', rows: 2, lang: code, value: words.description || '' });
    box.append(field({ label: t('console_tr_title', { language: name }), path: `translations.${code}.title`, control: title }),
      field({ label: t('console_tr_description', { language: name }), path: `translations.${code}.description`,
        control: description }));
    const labelsBox = node('div', { className: 'labels' });
    const slotsBox = node('div', { className: 'slots' });
    box.append(labelsBox, slotsBox, node('button', { type: 'button', className: 'button secondary small', onclick: () => {
      box.remove();
      languages.delete(code);
      languageChoices();
      $('new-language').focus();
      $('template-form').dispatchEvent(new Event('input', { bubbles: true }));
    } }, t('console_remove_language', { language: name })));
    const entry = { box, title, description, labelsBox, slotsBox, labels: new Map(), hints: new Map(), slots: [], words, slotWords };
    languages.set(code, entry);
    $('translations').append(box);
    refreshLabels();
    refreshSlots();
    languageChoices();
    return title;
  }

  // Each variable's label and hint in each language, kept by the variable's row (a renamed field keeps its words).
  function refreshLabels() {
    const rows = [...vars.children];
    for (const [code, entry] of languages) {
      const name = languageName(code);
      const boxes = rows.flatMap((row) => {
        const key = row.dataset.key;
        const varName = row.querySelector('[data-path$=".name"] input').value.trim();
        return ['labels', 'hints'].map((part) => {
          let input = entry[part].get(key);
          if (!input) {
            input = node('input', { className: 'input', type: 'text', lang: code,
              value: (entry.words[part] || {})[varName] || '' });
            entry[part].set(key, input);
          }
          return field({ label: t(`console_tr_${part}`, { name: varName || '…', language: name }),
            path: `translations.${code}.${part}.${varName}`, control: input });
        });
      });
      const keys = new Set(rows.map((r) => r.dataset.key));
      for (const part of ['labels', 'hints']) {
        for (const key of [...entry[part].keys()]) if (!keys.has(key)) entry[part].delete(key);
      }
      const focused = document.activeElement;
      entry.labelsBox.replaceChildren(...boxes);
      if (focused && entry.labelsBox.contains(focused)) focused.focus();
    }
  }

  // Each layout slot's words in each language (the slots come from the layout box).
  function refreshSlots() {
    const slots = slotsOf($('f-layout').value);
    if (slots === null) return;
    for (const [code, entry] of languages) {
      if (!config.languages.includes(code)) { entry.slotsBox.replaceChildren(); continue; }
      const name = languageName(code);
      entry.slots = slots.map((slot, index) => {
        const old = entry.slots[index];
        const value = old ? old.input.value : ((entry.slotWords[index] || {})[code] || '');
        const input = node('input', { className: 'input', type: 'text', lang: code, value });
        return { input, slot };
      });
      entry.slotsBox.replaceChildren(...entry.slots.map(({ input, slot }, index) => field({
        label: t('console_tr_slot', { slot: slot.name || index + 1, language: name }),
        path: `layout.slots.${index}.translations.${code}`, control: input,
        hint: t('console_tr_slot_hint', { text: slot.text || '' }) })));
    }
  }

  function languageChoices() {
    const free = config.languages.filter((code) => !languages.has(code));
    $('new-language').replaceChildren(...free.map((code) => node('option', { value: code }, languageName(code))));
    $('add-language').disabled = free.length === 0;
  }

  // Paths and names follow the order on the page: `variables.2` is the third row wherever it came from.
  function renumber() {
    [...vars.children].forEach((row, index) => {
      row.querySelector('legend').textContent = t('console_variable', { n: index + 1 });
      row.querySelector('fieldset').dataset.path = `variables.${index}`;
      for (const box of row.querySelectorAll('.field')) {
        box.dataset.path = `variables.${index}.${box.dataset.path.split('.').pop()}`;
      }
    });
    [...$('palette').children].forEach((row, index) => {
      row.querySelector('.field').dataset.path = `palette.${index}`;
      row.querySelector('label').textContent = t('console_colour', { n: index + 1 });
      row.querySelector('button').textContent = t('console_remove_colour', { n: index + 1 });
    });
    [...$('alternatives').children].forEach((row, index) => {
      const n = index + 1;
      row.querySelector('legend').textContent = t('console_alternative', { n });
      const [provider, model] = row.querySelectorAll('label');
      provider.textContent = t('console_alternative_provider', { n });
      model.textContent = t('console_alternative_model', { n });
      const path = `model.alternatives.${row.querySelector('select').value}`;
      for (const box of row.querySelectorAll('.field')) box.dataset.path = path;
    });
    refreshLabels();
  }

  function fill(fields) {
    for (const name of config.fields) {
      if (name !== 'id') $(`f-${name}`).value = fields[name] ?? '';
    }
    $('f-id').value = fields.id || '';
    $('f-needs_input_image').checked = Boolean(fields.needs_input_image);
    $('f-featured').checked = Boolean(fields.featured);
    $('f-sort_order').value = fields.sort_order ?? '';
    const model = fields.model || {};
    $('f-provider').value = model.provider || 'local';
    $('f-model_id').value = model.model_id || '';
    $('f-parameters').value = model.parameters && Object.keys(model.parameters).length
      ? JSON.stringify(model.parameters) : '';
    $('f-prices').value = model.prices && Object.keys(model.prices).length ? JSON.stringify(model.prices) : '';
    $('alternatives').replaceChildren();
    for (const [provider, id] of Object.entries(model.alternatives || {})) addAlternative(provider, id);
    $('palette').replaceChildren();
    for (const colour of fields.palette || DEFAULT_PALETTE) addColour(colour);
    vars.replaceChildren();
    for (const spec of fields.variables || []) addVariable(spec);
    const layout = fields.layout ? structuredClone(fields.layout) : null;
    const slotWords = (layout && layout.slots || []).map((slot) => slot.translations || {});
    for (const slot of (layout && layout.slots) || []) delete slot.translations;
    $('f-layout').value = layout ? JSON.stringify(layout, null, 2) : '';
    languages.clear();
    $('translations').replaceChildren();
    const codes = new Set(Object.keys(fields.translations || {}));
    for (const words of slotWords) for (const code of Object.keys(words)) codes.add(code);
    for (const code of codes) addLanguage(code, (fields.translations || {})[code] || {}, slotWords);
    languageChoices();
  }

  function json(path, text) {
    if (!text.trim()) return undefined;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new NotJson(path, t('console_not_json', { problem: error.message }));
    }
  }

  function readVariable(row) {
    const get = (name) => row.querySelector(`[data-path$=".${name}"] input, [data-path$=".${name}"] select, `
      + `[data-path$=".${name}"] textarea`);
    const spec = { name: get('name').value.trim() };
    for (const name of ['label', 'default', 'sample', 'hint']) if (get(name).value !== '') spec[name] = get(name).value;
    if (get('type').value !== 'text') spec.type = get('type').value;
    if (get('max_length').value !== '') spec.max_length = Number(get('max_length').value);
    const choices = get('choices').value.split('\n').map((c) => c.trim()).filter(Boolean);
    if (choices.length) spec.choices = choices;
    if (!get('required').checked) spec.required = false;
    return spec;
  }

  // The fields as the API takes them; only what differs from a template's defaults, as a catalogue file has it.
  function read() {
    const fields = { id: $('f-id').value.trim() };
    for (const name of config.fields) {
      if (name === 'id') continue;
      const input = $(`f-${name}`);
      if (input.type === 'number') fields[name] = input.value === '' ? '' : Number(input.value);
      else if (input.value !== '' || !['negative_prompt', 'caption'].includes(name)) fields[name] = input.value;
    }
    if ($('f-needs_input_image').checked) fields.needs_input_image = true;
    if ($('f-featured').checked) fields.featured = true;
    if ($('f-sort_order').value !== '') fields.sort_order = Number($('f-sort_order').value);
    fields.palette = [...$('palette').querySelectorAll('input')].map((input) => input.value);
    fields.variables = [...vars.children].map(readVariable);
    const model = { provider: $('f-provider').value, model_id: $('f-model_id').value.trim() };
    const parameters = json('model.parameters', $('f-parameters').value);
    if (parameters !== undefined) model.parameters = parameters;
    const prices = json('model.prices', $('f-prices').value);
    if (prices !== undefined) model.prices = prices;
    const alternatives = [...$('alternatives').children].map((row) => [row.querySelector('select').value,
      row.querySelector('input').value.trim()]);
    if (alternatives.length) model.alternatives = Object.fromEntries(alternatives);
    fields.model = model;
    const layout = json('layout', $('f-layout').value);
    const translations = {};
    for (const [code, entry] of languages) {
      const words = { title: entry.title.value.trim(), description: entry.description.value.trim() };
      for (const part of ['labels', 'hints']) {
        const named = {};
        for (const row of vars.children) {
          const input = entry[part].get(row.dataset.key);
          const name = row.querySelector('[data-path$=".name"] input').value.trim();
          if (input && input.value.trim()) named[name] = input.value.trim();
        }
        if (Object.keys(named).length) words[part] = named;
      }
      if (Object.values(words).some((value) => (typeof value === 'string' ? value : Object.keys(value).length))) {
        translations[code] = words;
      }
      entry.slots.forEach(({ input }, index) => {
        const slot = layout && Array.isArray(layout.slots) ? layout.slots[index] : null;
        if (slot && input.value.trim()) slot.translations = { ...(slot.translations || {}), [code]: input.value.trim() };
      });
    }
    if (layout !== undefined) fields.layout = layout;
    if (Object.keys(translations).length) fields.translations = translations;
    return fields;
  }

  // The style choices and languages a preview can be asked for, from the fields as they are now.
  function previewable() {
    const layout = slotsOf($('f-layout').value) === null ? {} : JSON.parse($('f-layout').value || '{}');
    const style = [...vars.children].map(readVariable).find((v) => v.name === layout.style_variable);
    return { styles: style && style.choices ? style.choices : [], languages: ['en', ...languages.keys()] };
  }

  $('add-variable').addEventListener('click', () => addVariable().focus());
  $('add-colour').addEventListener('click', () => addColour('#6d28d9').focus());
  $('add-alternative').addEventListener('click', () => addAlternative().focus());
  $('add-language').addEventListener('click', () => {
    const code = $('new-language').value;
    if (code) addLanguage(code, {}, []).focus();
    $('template-form').dispatchEvent(new Event('input', { bubbles: true }));
  });
  $('f-layout').addEventListener('input', refreshSlots);
  for (const id of ['add-variable', 'add-colour', 'add-alternative']) {
    $(id).addEventListener('click', () => $('template-form').dispatchEvent(new Event('input', { bubbles: true })));
  }

  return { fill, read, previewable };
}
