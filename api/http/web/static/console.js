// The operators' console: templates with their status and usage, a form for a template's draft with
// its preview in each style and language, the changes since the published version, publish, retire, restore.

import * as auth from './auth.js';
import { ApiError, makeApi } from './api.js';
import { makeI18n } from './i18n.js';
import { setupReports } from './console_reports.js';

const config = JSON.parse(document.getElementById('config').textContent);
const i18n = makeI18n(config);
const { t } = i18n;
const $ = (id) => document.getElementById(id);
const FORM_FIELDS = config.fields;  // the fields with their own input; the rest is edited as JSON
const LANGUAGE_NAMES = { en: 'English', hi: 'हिन्दी', mr: 'मराठी', ta: 'தமிழ்', te: 'తెలుగు' };

let token = auth.takeTokenFromAddress() || auth.storedToken();
const api = makeApi({ token: () => token, onUnauthorized: () => signOut() });
let current = null;  // the template being edited: { id, status, fields, published }
let previewUrl = null;

function show(section) {
  for (const id of ['signin', 'list', 'editor', 'reports']) $(id).hidden = id !== section;
  const heading = document.querySelector(`#${section} h1`);
  if (heading) heading.focus();
}

function notify(text) {
  $('notice').textContent = text;
}

function clearProblems() {
  $('problems').hidden = true;
  for (const node of document.querySelectorAll('.field.has-error')) node.classList.remove('has-error');
  for (const node of document.querySelectorAll('.error-message')) { node.hidden = true; node.textContent = ''; }
}

// The GOV.UK pattern: each problem above the field it names, and a summary at the top linking to it.
function showProblems(problems) {
  clearProblems();
  const list = document.querySelector('#problems ul');
  list.replaceChildren();
  for (const { field, message } of problems) {
    const top = FORM_FIELDS.includes(field.split('.')[0]) || ['reason', 'effective_at', 'id'].includes(field)
      ? field.split('.')[0] : 'rest';
    const input = $(`f-${top}`);
    const item = document.createElement('li');
    const text = `${field}: ${message}`;
    if (input && !$('editor').hidden) {
      const link = document.createElement('a');
      link.href = `#f-${top}`;
      link.textContent = text;
      link.addEventListener('click', (event) => { event.preventDefault(); input.focus(); });
      item.append(link);
      const box = input.closest('.field');
      box.classList.add('has-error');
      const error = $(`f-${top}-error`);
      error.hidden = false;
      error.textContent = error.textContent ? `${error.textContent} ${text}` : text;
    } else {
      item.textContent = text;
    }
    list.append(item);
  }
  $('problems').hidden = false;
  $('problems').focus();
}

function problemsOf(error) {
  if (error instanceof ApiError) {
    const { problem } = error;
    if (Array.isArray(problem.errors) && problem.errors.length) return problem.errors;
    return [{ field: problem.field || 'body', message: problem.detail || problem.title }];
  }
  return [{ field: 'body', message: String(error.message || error) }];
}

async function attempt(action) {
  try {
    await action();
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) { signOut(t('console_forbidden')); return; }
    showProblems(problemsOf(error));
  }
}

function signOut(message) {
  auth.forgetToken();
  token = null;
  document.querySelector('[data-signed-in]').hidden = true;
  show('signin');
  if (message) showProblems([{ field: 'token', message }]);
}

function statusText(status) {
  return t(`console_status_${status}`);
}

async function loadList() {
  notify('');
  const templates = await api.get('/v1/admin/templates');
  const rows = templates.map((template) => {
    const row = document.createElement('tr');
    const name = document.createElement('th');
    name.scope = 'row';
    const link = document.createElement('a');
    link.href = `#template=${encodeURIComponent(template.template_id)}`;
    link.textContent = template.title || template.template_id;
    link.addEventListener('click', (event) => { event.preventDefault(); attempt(() => edit(template.template_id)); });
    const id = document.createElement('span');
    id.className = 'muted id';
    id.textContent = template.template_id;
    name.append(link, ' ', id);
    const status = document.createElement('td');
    status.textContent = statusText(template.status) + (template.has_draft ? ` · ${t('console_has_draft')}` : '');
    const versions = document.createElement('td');
    versions.textContent = `${template.current_version ?? '–'} / ${template.latest_version || '–'}`;
    const usage = document.createElement('td');
    usage.textContent = t('console_usage', {
      per_day: i18n.number(template.generations_per_day),
      failures: new Intl.NumberFormat(config.locale, { style: 'percent' }).format(template.failure_rate),
      credits: i18n.number(template.credits_spent),
    });
    row.append(name, status, versions, usage);
    return row;
  });
  $('rows').replaceChildren(...rows);
  show('list');
}

function formFields() {
  let rest;
  try {
    rest = JSON.parse($('f-rest').value || '{}');
  } catch (error) {
    throw new ApiError(422, { errors: [{ field: 'rest', message: t('console_not_json', { problem: error.message }) }] });
  }
  const fields = { ...rest, id: $('f-id').value.trim() };
  for (const name of FORM_FIELDS) {
    if (name === 'id' || name === 'provider' || name === 'model_id') continue;
    const input = $(`f-${name}`);
    fields[name] = input.type === 'number' ? Number(input.value) : input.value;
  }
  fields.model = { ...(rest.model || {}), provider: $('f-provider').value, model_id: $('f-model_id').value };
  return fields;
}

function fillForm(id, fields) {
  $('f-id').value = id;
  $('f-id').readOnly = Boolean(current && current.status);
  const rest = { ...fields };
  for (const name of FORM_FIELDS) {
    if (name === 'provider' || name === 'model_id') continue;
    if (name in rest) $(`f-${name}`).value = rest[name];
    delete rest[name];
  }
  const model = rest.model || {};
  $('f-provider').value = model.provider || 'local';
  $('f-model_id').value = model.model_id || '';
  delete rest.id;
  delete rest.version;
  $('f-rest').value = JSON.stringify(rest, null, 2);
}

function flatten(value, prefix = '', out = {}) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${key}` : key, out);
  } else if (Array.isArray(value) && value.some((item) => item && typeof item === 'object')) {
    value.forEach((item, index) => flatten(item, `${prefix}.${index}`, out));
  } else {
    out[prefix] = value === undefined ? '' : JSON.stringify(value);
  }
  return out;
}

function showDiff(published, draft) {
  $('not-published').hidden = Boolean(published);
  if (!published) {
    $('diff').hidden = true;
    $('no-changes').hidden = true;
    return;
  }
  const before = flatten(published || {});
  const after = flatten(draft || {});
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => before[k] !== after[k]);
  const rows = keys.sort().map((key) => {
    const row = document.createElement('tr');
    const name = document.createElement('th');
    name.scope = 'row';
    name.textContent = key;
    const old = document.createElement('td');
    old.textContent = before[key] ?? '';
    const now = document.createElement('td');
    now.textContent = after[key] ?? '';
    row.append(name, old, now);
    return row;
  });
  $('diff-rows').replaceChildren(...rows);
  $('diff').hidden = rows.length === 0;
  $('no-changes').hidden = rows.length !== 0;
}

function choices(select, values, labels = {}) {
  const chosen = select.value;
  select.replaceChildren(...values.map((value) => {
    const option = document.createElement('option');
    option.value = value;
    option.textContent = labels[value] || value;
    return option;
  }));
  if (values.includes(chosen)) select.value = chosen;
}

function previewChoices(fields) {
  const styleName = fields.layout && fields.layout.style_variable;
  const style = (fields.variables || []).find((v) => v.name === styleName);
  choices($('preview-style'), style ? style.choices : ['']);
  $('preview-style').closest('.field').hidden = !style;
  choices($('preview-lang'), ['en', ...Object.keys(fields.translations || {})], LANGUAGE_NAMES);
}

async function refreshPreview() {
  if (!current || !current.status) return;
  const style = $('preview-style').value;
  const lang = $('preview-lang').value || 'en';
  const query = new URLSearchParams({ lang });
  if (style) query.set('style', style);
  const response = await fetch(`/v1/admin/templates/${encodeURIComponent(current.id)}/preview.png?${query}`,
    { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(await response.blob());
  const image = $('preview-image');
  image.src = previewUrl;
  image.alt = t('console_preview_alt', { template: current.id, style: style || '–', language: LANGUAGE_NAMES[lang] || lang });
  image.hidden = false;
}

// ``position``: a change just made, which the read waits for (read your own writes).
async function edit(id, position) {
  clearProblems();
  notify('');
  const wait = position ? `?min_position=${position}` : '';
  const found = id ? await api.get(`/v1/admin/templates/${encodeURIComponent(id)}${wait}`) : null;
  const latest = found && found.versions.length ? found.versions[found.versions.length - 1] : null;
  const fields = found ? (found.draft || latest.fields) : { id: '', variables: [], translations: {} };
  current = { id: id || '', status: found ? found.status : null, published: latest ? latest.fields : null };
  $('editor-title').textContent = id ? t('console_edit', { template: fields.title || id }) : t('console_new');
  $('editor-status').textContent = found ? statusText(found.status) : '';
  fillForm(id || '', fields);
  $('f-reason').value = '';
  $('f-effective_at').value = '';
  $('publish').disabled = !found || !found.draft;
  $('retire').hidden = !found || found.status !== 'published';
  $('restore').hidden = !found || found.status !== 'retired';
  previewChoices(fields);
  showDiff(current.published, found ? found.draft : null);
  $('preview-image').hidden = true;
  show('editor');
  if (found) await refreshPreview();
}

function reason() {
  const text = $('f-reason').value.trim();
  if (!text) throw new ApiError(422, { errors: [{ field: 'reason', message: t('console_reason_hint') }] });
  return text;
}

async function save() {
  const fields = formFields();
  const why = reason();
  const id = fields.id;
  const done = await api.put(`/v1/admin/templates/${encodeURIComponent(id)}?reason=${encodeURIComponent(why)}`, fields);
  await edit(id, done.position);
  notify(t('console_saved'));
}

async function publish() {
  const body = { reason: reason() };
  const when = $('f-effective_at').value;
  if (when) body.effective_at = new Date(when).toISOString();
  const done = await api.post(`/v1/admin/templates/${encodeURIComponent(current.id)}/publish`, body);
  await edit(current.id, done.position);
  notify(t('console_published', { version: done.version }));
}

async function change(action) {
  const done = await api.post(`/v1/admin/templates/${encodeURIComponent(current.id)}/${action}`, { reason: reason() });
  await edit(current.id, done.position);
  notify(t('console_done'));
}

function start() {
  $('signin-form').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token').value.trim();
    auth.storeToken(token);
    attempt(signedIn);
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('new-template').addEventListener('click', () => attempt(() => edit(null)));
  $('back').addEventListener('click', (event) => { event.preventDefault(); attempt(loadList); });
  $('tab-templates').addEventListener('click', (event) => { event.preventDefault(); attempt(loadList); });
  $('tab-reports').addEventListener('click', (event) => { event.preventDefault(); attempt(openReports); });
  $('template-form').addEventListener('submit', (event) => { event.preventDefault(); attempt(save); });
  $('publish').addEventListener('click', () => attempt(publish));
  $('retire').addEventListener('click', () => attempt(() => change('retire')));
  $('restore').addEventListener('click', () => attempt(() => change('restore')));
  for (const id of ['preview-style', 'preview-lang']) $(id).addEventListener('change', () => attempt(refreshPreview));
  if (token && !auth.hasExpired(token)) attempt(signedIn);
  else show('signin');
}

const reports = setupReports({ api, i18n, $, attempt, notify, showProblems });

// What the token's roles open: templates (templates, admin), reported images (moderation, admin).
function rolesOf(found) {
  const roles = new Set(Array.isArray(found.roles) ? found.roles : []);
  if (typeof found.role === 'string') roles.add(found.role);
  return {
    templates: roles.has('templates') || roles.has('admin'),
    reports: roles.has('moderation') || roles.has('admin'),
  };
}

async function openReports() {
  notify('');
  await reports.load();
  show('reports');
}

async function signedIn() {
  const found = auth.claims(token) || {};
  $('who').textContent = t('signed_in_as', { user: found.sub || '' });
  document.querySelector('[data-signed-in]').hidden = false;
  const may = rolesOf(found);
  $('tabs').hidden = !(may.templates && may.reports);
  if (may.reports && (!may.templates || window.location.hash === '#reports')) await openReports();
  else await loadList();
}

start();
