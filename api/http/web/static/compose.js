// Picking a template, filling its form, and following a generation from queued to done.

import { ApiError, newKey } from './api.js';
import { clearErrors, labelOf, showErrors } from './errors.js';

const POLL_MS = 500;
const GIVE_UP_MS = 180000;
const MAX_PHOTO = 10 * 1024 * 1024;

export function setupComposer({ api, i18n, config, onFinished, recharge }) {
  const { t } = i18n;
  const compose = document.getElementById('compose');

  function choose(id) {
    for (const form of compose.querySelectorAll('.template-form')) form.hidden = form.dataset.template !== id;
    for (const button of document.querySelectorAll('[data-choose]')) {
      button.closest('.card').classList.toggle('chosen', button.dataset.choose === id);
    }
    document.getElementById('compose-empty').hidden = true;
    const form = document.getElementById(`form-${id}`);
    form.scrollIntoView({ behavior: 'smooth', block: 'start' });
    const first = form.querySelector('input:not([type=radio]), input[type=radio]:checked, select');
    (first || form).focus({ preventScroll: true });
  }

  for (const button of document.querySelectorAll('[data-choose]')) {
    button.addEventListener('click', () => choose(button.dataset.choose));
  }

  for (const input of compose.querySelectorAll('[data-counter]')) {
    const counter = document.getElementById(input.dataset.counter);
    const update = () => {
      const max = Number(input.dataset.maxCharacters);
      const count = i18n.characters(input.value);
      counter.textContent = t('characters_count', { count: i18n.number(count), max: i18n.number(max) });
      counter.classList.toggle('full', count >= max);
    };
    input.addEventListener('input', update);
    update();
  }

  for (const input of compose.querySelectorAll('input[type=file]')) {
    const preview = input.parentElement.querySelector('.photo-preview');
    input.addEventListener('change', () => {
      if (preview.src) URL.revokeObjectURL(preview.src);
      const file = input.files[0];
      preview.hidden = !file;
      if (file) preview.src = URL.createObjectURL(file);
    });
  }

  for (const form of compose.querySelectorAll('.template-form')) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      generate(form);
    });
  }

  function variablesOf(form) {
    const variables = {};
    for (const element of form.elements) {
      if (!element.name || element.type === 'file' || element.type === 'submit') continue;
      if (element.type === 'radio' && !element.checked) continue;
      variables[element.name] = element.value;
    }
    return variables;
  }

  function say(form, state, text, { busy = false, link = null, action = null } = {}) {
    const progress = form.querySelector('.progress');
    progress.className = `progress ${state}`;
    progress.replaceChildren();
    if (busy) {
      const spinner = document.createElement('span');
      spinner.className = 'spinner';
      spinner.setAttribute('aria-hidden', 'true');
      progress.append(spinner);
    }
    progress.append(document.createTextNode(text));
    if (link) {
      const anchor = document.createElement('a');
      anchor.href = link.href;
      anchor.className = 'button small';
      anchor.textContent = link.text;
      progress.append(document.createTextNode(' '), anchor);
    }
    if (action) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'button small';
      button.textContent = action.text;
      button.addEventListener('click', action.onClick);
      progress.append(document.createTextNode(' '), button);
    }
  }

  function fieldText(form, problem) {
    const message = (problem.detail || '').replace(/^[\w.]+: /, '');
    const label = labelOf(form, problem.field);
    if (/is required$/.test(message)) {
      // "Enter the course title": in English the label is lower-cased inside the sentence.
      const inner = config.lang === 'en' && /^[A-Z][a-z]/.test(label) ? label[0].toLowerCase() + label.slice(1) : label;
      return t('field_required', { label: inner });
    }
    return t('field_problem', { label, message });
  }

  async function upload(form, input) {
    const file = input.files[0];
    if (form.uploaded && form.uploaded.file === file) return form.uploaded.id;
    say(form, '', t('status_uploading'), { busy: true });
    const body = new FormData();
    body.append('file', file);
    const answer = await api.upload('/v1/uploads', body, newKey());
    form.uploaded = { file, id: answer.upload_id };
    return answer.upload_id;
  }

  async function generate(form) {
    clearErrors(form);
    const button = form.querySelector('.generate');
    const template = form.dataset.template;
    const body = { template_id: template, variables: variablesOf(form) };
    const photo = form.querySelector('input[type=file]');
    if (photo) {
      const file = photo.files[0];
      const problem = !file ? t('photo_required') : file.size > MAX_PHOTO ? t('photo_too_big') : null;
      if (problem) {
        showErrors(form, [{ field: 'input_upload_id', text: problem }], t('error_prefix'));
        return;
      }
    }
    button.disabled = true;
    try {
      if (photo) body.input_upload_id = await upload(form, photo);
      // The same form sent twice (a double click, a retry after a lost answer) is one generation.
      const signature = JSON.stringify(body);
      if (form.sent !== signature) {
        form.sent = signature;
        form.key = newKey();
      }
      const accepted = await api.post('/v1/generations', body, form.key);
      form.sent = null;
      say(form, '', t('status_requested'), { busy: true });
      onFinished({ position: accepted.position });
      await follow(form, accepted);
    } catch (error) {
      failed(form, error);
    } finally {
      button.disabled = false;
    }
  }

  async function follow(form, accepted) {
    const started = Date.now();
    let position = accepted.position;
    while (Date.now() - started < GIVE_UP_MS) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      let generation;
      try {
        generation = await api.get(`/v1/generations/${accepted.generation_id}?min_position=${position}`);
      } catch (error) {
        if (error instanceof ApiError && error.status === 503) continue;
        throw error;
      }
      position = 0;
      if (generation.status === 'completed') {
        say(form, 'done', t('status_completed'), { link: { href: '#gallery', text: t('see_in_gallery') } });
        onFinished({ generation });
        return;
      }
      if (generation.status === 'failed') {
        const reason = i18n.has(`reason_${generation.reason}`) ? t(`reason_${generation.reason}`) : generation.reason;
        say(form, 'failed', t('status_failed', { reason }));
        onFinished({});
        return;
      }
      say(form, '', t(generation.status === 'started' ? 'status_started' : 'status_requested'), { busy: true });
    }
    say(form, '', t('status_slow'));
  }

  function failed(form, error) {
    if (!(error instanceof ApiError)) throw error;
    const problem = error.problem;
    if (error.status === 401) return;
    if (error.status === 403 && String(problem.type).endsWith(':wallet-frozen')) {
      say(form, 'failed', t('wallet_frozen', { reason: problem.reason }));
      return;
    }
    if (error.status === 402 && String(problem.type).endsWith(':daily-spend-cap-reached')) {
      say(form, 'failed', t('spend_cap_reached', {
        cap: i18n.number(problem.cap), spent: i18n.number(problem.spent), resets: i18n.moment(problem.resets_at),
      }));
      return;
    }
    if (error.status === 402) {
      const needed = problem.needed ?? 0;
      const available = problem.available ?? 0;
      // Beside the packs, the learner's own platform wallet: the dialog offers what covers the shortfall,
      // and once the credits are in, the same request goes again in one click.
      say(form, 'failed', t('insufficient', {
        needed: i18n.number(needed), available: i18n.number(available), short: i18n.number(needed - available),
      }), {
        link: { href: '#buy', text: t('buy_more') },
        action: recharge && {
          text: t('recharge_with_wallet'),
          onClick: () => recharge.open({
            shortfall: needed - available,
            onDone: (done) => say(form, 'done', t('recharge_done_retry', { credits: i18n.number(done.credits) }), {
              action: { text: t('retry_generation'), onClick: () => generate(form) },
            }),
          }),
        },
      });
      return;
    }
    if (error.status === 422 && problem.code === 'text-refused' && problem.field) {
      // Moderation: said in the learner's language from the problem's category, not its English detail.
      const kind = i18n.has(`kind_${problem.category}`) ? t(`kind_${problem.category}`) : t('kind_other');
      say(form, '', '');
      const text = t('text_refused', { label: labelOf(form, problem.field), kind });
      showErrors(form, [{ field: problem.field, text }], t('error_prefix'));
      return;
    }
    if (error.status === 422 && problem.field) {
      say(form, '', '');
      showErrors(form, [{ field: problem.field, text: fieldText(form, problem) }], t('error_prefix'));
      return;
    }
    say(form, 'failed', error.status === 0 ? t('offline') : (problem.detail || t('something_wrong')));
  }

  return { choose };
}
