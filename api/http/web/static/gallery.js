// The learner's images, newest first, loading more as they scroll; download, share, stop sharing, delete;
// and a download of everything kept about the learner.

import { ApiError, newKey } from './api.js';

const PAGE = 12;

export function setupGallery({ api, i18n, config, onChange }) {
  const { t } = i18n;
  const list = document.getElementById('gallery-list');
  const empty = document.getElementById('gallery-empty');
  const more = document.getElementById('gallery-more');
  const notice = document.getElementById('gallery-notice');
  let cursor = null;
  let loading = false;

  function tell(text, problem = false) {
    notice.classList.toggle('problem', problem);
    notice.textContent = text;
  }

  // The title of the template version that made the image (a later version renames nothing), in the
  // page's language where that version has it.
  function templateName(item) {
    const mine = (item.template_titles || {})[config.lang];
    const current = config.templates[item.template_id];
    if (mine) return mine;
    if (config.lang === 'en' && item.template_title) return item.template_title;
    return (current && current.title) || item.template_title || item.template_id;
  }

  function altText(item) {
    const name = templateName(item);
    return item.title ? `${name}: ${item.title}` : name;
  }

  function renderTakenDown(item) {
    // The image is gone: what its owner is owed is the reason, in their language, and the operator's note.
    const li = document.createElement('li');
    li.className = 'shot taken-down';
    li.dataset.id = item.generation_id;
    const body = document.createElement('div');
    body.className = 'shot-body';
    const title = document.createElement('p');
    title.className = 'shot-title';
    const said = document.createElement('bdi');
    said.textContent = item.title || templateName(item);
    title.append(said);
    const why = document.createElement('p');
    why.className = 'shot-why';
    why.textContent = t('taken_down', { reason: t(`reason_${item.taken_down.category}`) });
    body.append(title, why);
    if (item.taken_down.note) {
      const note = document.createElement('p');
      note.className = 'shot-meta';
      const words = document.createElement('bdi');
      words.textContent = item.taken_down.note;
      note.append(t('taken_down_note', { note: '' }), words);
      body.append(note);
    }
    li.append(body);
    return li;
  }

  function render(item) {
    if (item.taken_down) return renderTakenDown(item);
    const alt = altText(item);
    const li = document.createElement('li');
    li.className = 'shot';
    li.dataset.id = item.generation_id;
    const img = document.createElement('img');
    img.src = item.thumbnail_url || item.image_url;
    img.alt = alt;
    img.loading = 'lazy';
    img.decoding = 'async';
    const body = document.createElement('div');
    body.className = 'shot-body';
    const title = document.createElement('p');
    title.className = 'shot-title';
    const said = document.createElement('bdi'); // the learner's words keep their own direction (Urdu)
    said.textContent = item.title || alt;
    title.append(said);
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.textContent = t('shared_badge');
    title.append(' ', badge);
    const meta = document.createElement('p');
    meta.className = 'shot-meta';
    meta.textContent = `${templateName(item)} · ${t('made_on', { date: i18n.day(item.created_at) })}`;
    const actions = document.createElement('div');
    actions.className = 'shot-actions';
    const download = document.createElement('a');
    download.className = 'button small secondary';
    download.href = item.image_url;
    download.download = '';
    download.textContent = t('download');
    download.setAttribute('aria-label', `${t('download')}: ${alt}`);
    const share = button(t('share'), alt);
    const unshare = button(t('unshare'), alt);
    const remove = button(t('delete_image'), alt);
    actions.append(download, share, unshare, remove);
    const link = document.createElement('p');
    link.className = 'shot-link';
    body.append(title, meta, actions, link);
    li.append(img, body);
    const shown = (url) => {
      badge.hidden = !url;
      unshare.hidden = !url;
      link.hidden = !url;
      if (url) {
        const anchor = document.createElement('a');
        anchor.href = url;
        anchor.textContent = url;
        link.replaceChildren(document.createTextNode(`${t('shared_link')} `), anchor);
      }
    };
    shown(item.share_url);
    share.addEventListener('click', () => shareItem(item, alt, shown, share));
    unshare.addEventListener('click', () => unshareItem(item, shown, unshare, share));
    remove.addEventListener('click', () => deleteItem(item, li, remove));
    return li;
  }

  function button(text, alt) {
    const element = document.createElement('button');
    element.type = 'button';
    element.className = 'button small secondary';
    element.textContent = text;
    element.setAttribute('aria-label', `${text}: ${alt}`);
    return element;
  }

  async function shareItem(item, alt, shown, control) {
    control.disabled = true;
    try {
      const answer = await api.post(`/v1/generations/${item.generation_id}/share`, {}, newKey());
      item.share_url = answer.share_url;
      shown(answer.share_url);
      let text = t('shared_link');
      if (navigator.share) {
        await navigator.share({ title: alt, url: answer.share_url }).catch(() => {});
      } else if (navigator.clipboard) {
        text = await navigator.clipboard.writeText(answer.share_url).then(() => t('shared_copied'), () => text);
      }
      if (answer.bonus_credits > 0) text += ` ${t('share_bonus', { credits: i18n.number(answer.bonus_credits), count: answer.bonus_credits })}`;
      tell(text);
      onChange(answer.position);
    } catch (error) {
      failed(error);
    } finally {
      control.disabled = false;
    }
  }

  async function unshareItem(item, shown, control, share) {
    control.disabled = true;
    try {
      await api.remove(`/v1/generations/${item.generation_id}/share`);
      item.share_url = null;
      shown(null);
      tell(t('unshared'));
      share.focus();
    } catch (error) {
      failed(error);
    } finally {
      control.disabled = false;
    }
  }

  async function deleteItem(item, li, control) {
    // Asked first: a deleted image cannot come back (its credits stay spent, as the statement says).
    if (!window.confirm(t('delete_confirm'))) return;
    control.disabled = true;
    try {
      const answer = await api.remove(`/v1/generations/${item.generation_id}`);
      li.remove();
      empty.hidden = list.children.length > 0;
      tell(t('deleted'));
      onChange(answer.position);
    } catch (error) {
      control.disabled = false;
      failed(error);
    }
  }

  async function exportData(control) {
    control.disabled = true;
    try {
      const data = await api.get('/v1/me/export');
      const file = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      const anchor = document.createElement('a');
      anchor.href = URL.createObjectURL(file);
      anchor.download = `studio-export-${data.exported_at.slice(0, 10)}.json`;
      anchor.click();
      setTimeout(() => URL.revokeObjectURL(anchor.href), 1000);
      tell(t('exported'));
    } catch (error) {
      failed(error);
    } finally {
      control.disabled = false;
    }
  }

  function failed(error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 401) return;
    tell(error.status === 0 ? t('offline') : error.problem.detail || t('something_wrong'), true);
  }

  async function load(reset = false) {
    if (loading) return;
    loading = true;
    try {
      const query = reset || !cursor ? `?limit=${PAGE}` : `?limit=${PAGE}&cursor=${cursor}`;
      const page = await api.get(`/v1/gallery${query}`);
      if (reset) {
        const known = new Set([...list.children].map((li) => li.dataset.id));
        const fresh = page.items.filter((item) => !known.has(item.generation_id));
        list.prepend(...fresh.map(render));
        if (!known.size) cursor = page.next_cursor;
      } else {
        list.append(...page.items.map(render));
        cursor = page.next_cursor;
      }
      empty.hidden = list.children.length > 0;
      more.hidden = !cursor;
    } catch (error) {
      failed(error);
    } finally {
      loading = false;
    }
  }

  more.addEventListener('click', () => load());
  const exporter = document.getElementById('export-data');
  if (exporter) exporter.addEventListener('click', () => exportData(exporter));
  if ('IntersectionObserver' in window) {
    new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting) && cursor) load();
    }, { rootMargin: '400px' }).observe(document.getElementById('gallery-sentinel'));
  }

  return {
    start: () => { list.replaceChildren(); cursor = null; return load(); },
    refresh: () => load(true),
  };
}
