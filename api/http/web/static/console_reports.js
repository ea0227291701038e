// The console's queue of reported images: the image, its template, the learner's words, how often and why it
// was reported; take it down (a reason and a note its owner sees) or dismiss the reports.

export function setupReports({ api, i18n, $, attempt, notify, showProblems }) {
  const { t } = i18n;

  function reasons(categories) {
    return Object.entries(categories)
      .sort((a, b) => b[1] - a[1])
      .map(([category, n]) => `${t(`reason_${category}`)} (${i18n.number(n)})`)
      .join(', ');
  }

  function render(item) {
    const node = $('report-case').content.firstElementChild.cloneNode(true);
    const id = item.generation_id;
    const heading = node.querySelector('[data-heading]');
    heading.id = `case-${id}`;
    heading.textContent = item.title || item.template_title || item.template_id;
    node.setAttribute('aria-labelledby', heading.id);
    const image = node.querySelector('[data-image]');
    if (item.image_url) {
      image.src = item.image_url;
      image.alt = t('console_report_image', { title: heading.textContent });
    } else {
      image.remove();
    }
    node.querySelector('[data-count]').textContent = t('console_report_count', { count: i18n.number(item.reports) });
    node.querySelector('[data-template]').textContent =
      `${item.template_title || item.template_id} · v${item.template_version}`;
    node.querySelector('[data-learner]').textContent = item.user_id;
    const words = node.querySelector('[data-words]');
    for (const [name, value] of Object.entries(item.variables)) {
      const line = document.createElement('bdi');  // the learner's words keep their own direction
      line.textContent = `${name}: ${value}`;
      words.append(line, document.createElement('br'));
    }
    node.querySelector('[data-reasons]').textContent = reasons(item.categories);
    const details = node.querySelector('[data-details]');
    for (const report of item.details.filter((r) => r.text)) {
      const said = document.createElement('li');
      const text = document.createElement('bdi');
      text.textContent = report.text;
      said.append(`${t(`reason_${report.category}`)}: `, text);
      details.append(said);
    }
    for (const name of ['category', 'note']) {  // ids unique to this case, so each label names its own input
      const input = node.querySelector(`[data-input="${name}"]`);
      input.id = `${name}-${id}`;
      node.querySelector(`[data-for="${name}"]`).htmlFor = input.id;
    }
    const note = node.querySelector('[data-input="note"]');
    const hint = node.querySelector('[data-hint="note"]');
    hint.id = `note-hint-${id}`;
    const error = node.querySelector('[data-error="note"]');
    error.id = `note-${id}-error`;
    note.setAttribute('aria-describedby', hint.id);
    const form = node.querySelector('form');
    const takedown = node.querySelector('[data-takedown]');
    const dismiss = node.querySelector('[data-dismiss]');
    takedown.setAttribute('aria-describedby', heading.id);
    dismiss.setAttribute('aria-describedby', heading.id);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      attempt(async () => {
        const category = node.querySelector('[data-input="category"]').value;
        const done = await api.post(`/v1/admin/reports/${id}/takedown`, { category, note: note.value });
        await load(done.position);
        notify(t('console_taken_down'));
      });
    });
    dismiss.addEventListener('click', () => attempt(async () => {
      const done = await api.post(`/v1/admin/reports/${id}/dismiss`, { note: note.value });
      await load(done.position);
      notify(t('console_dismissed'));
    }));
    return node;
  }

  function renderSuspended(learner) {
    // A learner who lost sharing to takedowns: restored with a reason, recorded with who restored it.
    const item = document.createElement('li');
    item.className = 'panel';
    const form = document.createElement('form');
    form.noValidate = true;
    const heading = document.createElement('p');
    heading.className = 'status-line';
    heading.textContent = t('console_suspended_learner', { user: learner.user_id, count: i18n.number(learner.upheld) });
    const label = document.createElement('label');
    label.className = 'label';
    label.htmlFor = `restore-${learner.user_id}`;
    label.textContent = t('console_restore_reason');
    const reason = document.createElement('input');
    reason.className = 'input';
    reason.id = label.htmlFor;
    const restore = document.createElement('button');
    restore.className = 'button secondary';
    restore.type = 'submit';
    restore.textContent = t('console_restore_sharing');
    restore.setAttribute('aria-label', `${t('console_restore_sharing')}: ${learner.user_id}`);
    form.append(heading, label, reason, restore);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      attempt(async () => {
        const done = await api.post(`/v1/admin/learners/${encodeURIComponent(learner.user_id)}/sharing/restore`,
          { reason: reason.value });
        await load(done.position);
        notify(t('console_restored', { user: learner.user_id }));
      });
    });
    item.append(form);
    return item;
  }

  async function load(position) {
    const query = position ? `?min_position=${position}` : '';
    const cases = await api.get(`/v1/admin/reports${query}`);
    $('report-cases').replaceChildren(...cases.map(render));
    $('reports-empty').hidden = cases.length > 0;
    const suspended = await api.get(`/v1/admin/learners/suspended${query}`);
    $('suspended').replaceChildren(...suspended.map(renderSuspended));
    $('suspended-empty').hidden = suspended.length > 0;
  }

  return { load, showProblems };
}
