// The operators' console: templates with their status and usage, a form for a template's draft with
// its preview in each style and language, the changes since the published version, publish, retire, restore.

import * as auth from './auth.js';
import { ApiError, makeApi } from './api.js';
import { makeI18n } from './i18n.js';
import { languageName, makeForm, NotJson } from './console-form.js';
import { changes } from './console-diff.js';
import { setupReports } from './console_reports.js';
import { setupFinance } from './console_finance.js';
import { setupRevenue } from './console_revenue.js';
import { setupMargins } from './console_margins.js';

const config = JSON.parse(document.getElementById('config').textContent);
const i18n = makeI18n(config);
const { t } = i18n;
const $ = (id) => document.getElementById(id);
const PREVIEW_DELAY_MS = 400;  // after the last change: a preview is seconds of the server's CPU
const ID = /^[a-z][a-z0-9-]*$/;
const form = makeForm({ t, config });

let token = auth.takeTokenFromAddress() || auth.storedToken();
const api = makeApi({ token: () => token, onUnauthorized: () => signOut() });
let current = null;  // the template being edited: { id, status, fields, published }
let previewUrl = null;
let previewTimer = null;
let previewing = false;  // one preview in flight per page; a change meanwhile asks for one more after it
let previewAgain = false;

let shown = '';  // the section shown or asked for last: a slow load finishing late does not take the page back

function show(section) {
  shown = section;
  for (const id of ['signin', 'list', 'editor', 'reports', 'revenue', 'finance', 'margins']) $(id).hidden = id !== section;
  const heading = document.querySelector(`#${section} h1`);
  if (heading) heading.focus();
}

function notify(text) {
  $('notice').textContent = text;
}

function clearProblems() {
  $('problems').hidden = true;
  for (const node of document.querySelectorAll('.has-error')) node.classList.remove('has-error');
  for (const node of document.querySelectorAll('.error-message')) node.remove();
}

// The box whose path is the longest prefix of ``path`` (``variables.2.max_length``, else ``variables.2``, ...).
function boxFor(path) {
  const parts = path.split('.');
  for (let end = parts.length; end > 0; end -= 1) {
    const path = CSS.escape(parts.slice(0, end).join('.'));
    const box = document.querySelector(`#editor [data-path="${path}"], #margins-form [data-path="${path}"]`);
    if (box && !box.closest('[hidden]')) return box;
  }
  return null;
}

// The GOV.UK pattern: each problem above the field it names, and a summary at the top linking to it.
// ``focus``: move to the summary (after a button press), not while the operator types (a live preview).
// A summary redrawn while the keyboard is in it (a live preview answering after a save) keeps the focus.
function showProblems(problems, { focus = true } = {}) {
  const wasIn = $('problems').contains(document.activeElement);
  clearProblems();
  const list = document.querySelector('#problems ul');
  list.replaceChildren();
  for (const { field, message } of problems) {
    const box = $('editor').hidden && $('margins').hidden ? null : boxFor(field);
    const item = document.createElement('li');
    const text = `${field}: ${message}`;
    if (box) {
      const input = box.querySelector('input, select, textarea');
      const link = document.createElement('a');
      if (!input.id) input.id = `x-${Math.random().toString(36).slice(2)}`;
      link.href = `#${input.id}`;
      link.textContent = text;
      link.addEventListener('click', (event) => { event.preventDefault(); input.focus(); });
      item.append(link);
      box.classList.add('has-error');
      let error = box.querySelector(':scope > .error-message');
      if (!error) {
        error = document.createElement('p');
        error.className = 'error-message';
        error.id = `${input.id}-error`;
        const before = box.tagName === 'FIELDSET' ? box.querySelector('legend').nextSibling
          : box.querySelector(':scope > input, :scope > select, :scope > textarea');
        box.insertBefore(error, box.classList.contains('field-check') ? box.firstChild : before);
        const described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
        input.setAttribute('aria-describedby', [...described.filter((d) => !d.endsWith('-error')), error.id].join(' '));
      }
      error.textContent = error.textContent ? `${error.textContent} ${message}` : message;
    } else {
      item.textContent = text;
    }
    list.append(item);
  }
  $('problems').hidden = false;
  if (focus || wasIn) $('problems').focus();
}

function problemsOf(error) {
  if (Array.isArray(error.problems)) return error.problems;  // checked here before anything was sent
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
    if (error instanceof NotJson) { showProblems([{ field: error.path, message: error.message }]); return; }
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

function showDiff(published, draft) {
  $('not-published').hidden = Boolean(published);
  if (!published) {
    $('diff').hidden = true;
    $('no-changes').hidden = true;
    return;
  }
  const rows = changes(published, draft).map(({ key, before, after }) => {
    const row = document.createElement('tr');
    const name = document.createElement('th');
    name.scope = 'row';
    name.textContent = key;
    const old = document.createElement('td');
    old.textContent = before;
    const now = document.createElement('td');
    now.textContent = after;
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

function previewChoices() {
  const { styles, languages } = form.previewable();
  choices($('preview-style'), styles.length ? styles : ['']);
  $('preview-style').closest('.field').hidden = styles.length === 0;
  choices($('preview-lang'), languages, Object.fromEntries(languages.map((code) => [code, languageName(code)])));
}

// The fields as they are now, not saved, drawn by the compositor; the diff follows them too.
async function refreshPreview() {
  if (!current) return;
  if (previewing) { previewAgain = true; return; }
  let fields;
  try {
    fields = form.read();
  } catch (error) {
    if (error instanceof NotJson) { showProblems([{ field: error.path, message: error.message }], { focus: false }); return; }
    throw error;
  }
  showDiff(current.published, fields);
  previewChoices();
  if (!ID.test(fields.id)) return;  // a new template has no address until it has an id
  const style = $('preview-style').value;
  const lang = $('preview-lang').value || 'en';
  const query = new URLSearchParams({ lang });
  if (style) query.set('style', style);
  previewing = true;
  const sent = JSON.stringify(fields);
  $('preview-state').textContent = t('console_preview_pending');
  try {
    const response = await fetch(`/v1/admin/templates/${encodeURIComponent(fields.id)}/preview.png?${query}`, {
      method: 'POST', body: JSON.stringify(fields),
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } });
    if (response.status === 403) { signOut(t('console_forbidden')); return; }
    if (response.status === 429) {  // this operator's other previews (another tab) are drawing: try again soon
      const wait = Number(response.headers.get('Retry-After')) || 1;
      clearTimeout(previewTimer);
      previewTimer = setTimeout(() => attempt(refreshPreview), wait * 1000);
      return;
    }
    if (previewAgain || changedSince(sent)) {  // the fields changed while it was drawn: the next preview speaks for them
      previewAgain = true;
      return;
    }
    if (!response.ok) {
      showProblems(problemsOf(new ApiError(response.status, await response.json().catch(() => ({})))), { focus: false });
      $('preview-state').textContent = t('console_preview_stale');
      return;
    }
    if (!$('problems').querySelector('a[href="#f-reason"]')) clearProblems();
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(await response.blob());
    const image = $('preview-image');
    image.src = previewUrl;
    image.alt = t('console_preview_alt', { template: fields.id, style: style || '–', language: languageName(lang) });
    image.hidden = false;
    $('preview-state').textContent = '';
  } finally {
    previewing = false;
    if (previewAgain) { previewAgain = false; schedulePreview(); }
  }
}

// Whether the form's fields are no longer those sent as ``sent`` (or cannot be read any more).
function changedSince(sent) {
  try {
    return JSON.stringify(form.read()) !== sent;
  } catch {
    return true;
  }
}

function schedulePreview() {
  clearTimeout(previewTimer);
  previewTimer = setTimeout(() => attempt(refreshPreview), PREVIEW_DELAY_MS);
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
  clearTimeout(previewTimer);
  $('editor-title').textContent = id ? t('console_edit', { template: fields.title || id }) : t('console_new');
  $('editor-status').textContent = found ? statusText(found.status) : '';
  form.fill({ ...fields, id: id || '' });
  $('f-id').readOnly = Boolean(found);
  $('f-reason').value = '';
  $('f-effective_at').value = '';
  $('publish').disabled = !found || !found.draft;
  $('retire').hidden = !found || found.status !== 'published';
  $('restore').hidden = !found || found.status !== 'retired';
  $('preview-image').hidden = true;
  $('preview-state').textContent = '';
  previewChoices();
  showDiff(current.published, found ? found.draft || latest.fields : null);
  show('editor');
  if (found) await refreshPreview();
}

function reason() {
  const text = $('f-reason').value.trim();
  if (!text) throw new ApiError(422, { errors: [{ field: 'reason', message: t('console_reason_hint') }] });
  return text;
}

async function save() {
  const fields = form.read();
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
  $('tab-finance').addEventListener('click', (event) => { event.preventDefault(); attempt(openFinance); });
  $('tab-revenue').addEventListener('click', (event) => { event.preventDefault(); attempt(openRevenue); });
  revenue.wire(attempt, showProblems);
  $('tab-margins').addEventListener('click', (event) => { event.preventDefault(); attempt(openMargins); });
  $('margins-form').addEventListener('submit', (event) => { event.preventDefault(); attempt(openMargins); });
  $('template-form').addEventListener('submit', (event) => { event.preventDefault(); attempt(save); });
  $('publish').addEventListener('click', () => attempt(publish));
  $('retire').addEventListener('click', () => attempt(() => change('retire')));
  $('restore').addEventListener('click', () => attempt(() => change('restore')));
  for (const id of ['preview-style', 'preview-lang']) $(id).addEventListener('change', () => attempt(refreshPreview));
  $('template-form').addEventListener('input', (event) => {
    if (!['f-reason', 'f-effective_at'].includes(event.target.id)) schedulePreview();
  });
  $('template-form').addEventListener('change', (event) => {
    if (event.target.tagName === 'SELECT' || event.target.type === 'checkbox') schedulePreview();
  });
  if (token && !auth.hasExpired(token)) attempt(signedIn);
  else show('signin');
}

const reports = setupReports({ api, i18n, $, attempt, notify, showProblems });
const revenue = setupRevenue({ api, i18n, $ });
const margins = setupMargins({ api, i18n, $ });
const finance = setupFinance({ api, i18n, $, attempt, notify, packs: config.packs || [] });

// What the token's roles open: templates (templates, admin), reported images (moderation, admin), revenue and
// liability, and reconciliation (finance, admin). The finance role lands on the month's revenue.
function rolesOf(found) {
  const roles = new Set(Array.isArray(found.roles) ? found.roles : []);
  if (typeof found.role === 'string') roles.add(found.role);
  return {
    templates: roles.has('templates') || roles.has('admin'),
    reports: roles.has('moderation') || roles.has('admin'),
    revenue: roles.has('finance') || roles.has('admin'),
    finance: roles.has('finance') || roles.has('admin'),
    margins: roles.has('finance') || roles.has('admin'),
  };
}

async function openReports() {
  notify('');
  await reports.load();
  show('reports');
}

async function openRevenue() {
  shown = 'revenue';
  notify('');
  await revenue.load();
  if (shown === 'revenue') show('revenue');  // unless the operator went elsewhere while it loaded
}

async function openFinance() {
  shown = 'finance';
  notify('');
  await finance.load();
  if (shown === 'finance') show('finance');
}

async function openMargins() {
  notify('');
  clearProblems();
  show('margins');
  await margins.load();
}

async function signedIn() {
  const found = auth.claims(token) || {};
  $('who').textContent = t('signed_in_as', { user: found.sub || '' });
  document.querySelector('[data-signed-in]').hidden = false;
  const may = rolesOf(found);
  const all = ['templates', 'reports', 'revenue', 'finance', 'margins'];
  const sections = all.filter((name) => may[name]);
  for (const name of all) $(`tab-${name}`).hidden = !may[name];
  $('tabs').hidden = sections.length < 2;
  const wanted = window.location.hash.slice(1);
  const first = sections.includes(wanted) ? wanted : sections[0];
  if (first === 'reports') await openReports();
  else if (first === 'revenue') await openRevenue();
  else if (first === 'finance') await openFinance();
  else if (first === 'margins') await openMargins();
  else await loadList();
}

start();
