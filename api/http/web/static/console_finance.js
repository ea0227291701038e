// The console's reconciliation: upload a provider's settlement report, see the runs, open one to see the lines
// that did not match (an overdue unsettled payment is a finding), and credit a paid-but-no-credits line through
// the purchase command under its payment id.

const OUTCOMES = ['matched', 'amount_mismatch', 'paid_no_credits', 'credits_not_settled', 'duplicate',
  'refund_mismatch'];

export function setupFinance({ api, i18n, $, attempt, notify, packs }) {
  const { t } = i18n;
  let opened = null;  // the run whose lines are shown

  function cell(text) {
    const node = document.createElement('td');
    node.textContent = text;
    return node;
  }

  function money(minor, currency) {
    if (minor === null || minor === undefined || !currency) return '';
    try {
      return i18n.money(minor, currency);
    } catch {
      return `${i18n.number(minor)} ${currency}`;  // a currency the browser does not know
    }
  }

  function unmatched(run) {
    return OUTCOMES.filter((o) => o !== 'matched').reduce((sum, o) => sum + (run.counts[o] || 0), 0);
  }

  function runRow(run) {
    const row = document.createElement('tr');
    const name = document.createElement('th');
    name.scope = 'row';
    const link = document.createElement('a');
    link.href = `#finance/${run.run_id}`;
    link.textContent = `${run.file_name} (${t(`finance_format_${run.format}`)})`;
    link.addEventListener('click', (event) => { event.preventDefault(); attempt(() => open(run.run_id)); });
    name.append(link);
    row.append(name, cell(t('finance_imported', { who: run.imported_by, when: i18n.moment(run.recorded_at) })),
      cell(i18n.number(run.counts.matched)), cell(i18n.number(unmatched(run))), cell(i18n.number(run.overdue)));
    return row;
  }

  function resolveForm(line) {
    const form = document.createElement('form');
    form.noValidate = true;
    form.className = 'resolve';
    const fields = [];
    for (const [name, control] of [['user', document.createElement('input')], ['pack', document.createElement('select')]]) {
      const label = document.createElement('label');
      label.className = 'label';
      label.htmlFor = `resolve-${name}-${line.index}`;
      label.textContent = t(`finance_resolve_${name}`);
      control.id = label.htmlFor;
      control.className = name === 'user' ? 'input' : 'select';
      fields.push(label, control);
    }
    const pack = fields[3];
    const fitting = packs.filter((p) => p.price_minor === line.amount_minor && p.currency === line.currency);
    for (const p of fitting.length ? fitting : packs) {
      const option = document.createElement('option');
      option.value = p.id;
      option.textContent = `${p.title} · ${money(p.price_minor, p.currency)}`;
      pack.append(option);
    }
    const button = document.createElement('button');
    button.className = 'button secondary';
    button.type = 'submit';
    button.textContent = t('finance_resolve');
    button.setAttribute('aria-label', t('finance_resolve_payment', { payment: line.payment_id }));
    form.append(...fields, button);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      attempt(async () => {
        const done = await api.post(`/v1/admin/reconciliations/${opened}/lines/${line.index}/resolve`,
          { user_id: fields[1].value.trim(), pack_id: pack.value });
        await open(opened, done.position);
        notify(t('finance_resolved', { payment: line.payment_id, user: fields[1].value.trim() }));
      });
    });
    return form;
  }

  function lineRow(line) {
    const row = document.createElement('tr');
    const outcome = t(`finance_outcome_${line.outcome}`);
    const finding = line.overdue ? ` · ${t('finance_overdue')}` : '';
    const amounts = [line.amount_minor !== null ? t('finance_settled', { amount: money(line.amount_minor, line.currency) }) : '',
      line.ledger_minor !== null ? t('finance_ledger', { amount: money(line.ledger_minor, line.currency) }) : '']
      .filter(Boolean).join(' · ');
    const action = document.createElement('td');
    if (line.outcome === 'paid_no_credits' && line.resolved_by) {
      action.textContent = t('finance_resolved_by', { who: line.resolved_by });
    } else if (line.outcome === 'paid_no_credits' && line.payment_id) {
      action.append(resolveForm(line));
    }
    row.append(cell(line.line === null ? t('finance_not_in_report') : i18n.number(line.line)), cell(outcome + finding),
      cell(line.payment_id), cell(amounts), cell(line.detail), action);
    if (line.overdue) row.className = 'finding';
    return row;
  }

  async function open(runId, position) {
    const query = position ? `&min_position=${position}` : '';
    const run = await api.get(`/v1/admin/reconciliations/${runId}?${query.slice(1)}`);
    const lines = [];
    let after = -1;
    for (;;) {  // every unmatched line, page by page
      const page = await api.get(`/v1/admin/reconciliations/${runId}/lines?unmatched=true&limit=500&after=${after}${query}`);
      lines.push(...page.lines);
      if (page.next_after === null) break;
      after = page.next_after;
    }
    opened = runId;
    $('run-title').textContent = t('finance_run_title', { file: run.file_name });
    $('run-counts').textContent = OUTCOMES.map((o) => `${t(`finance_outcome_${o}`)}: ${i18n.number(run.counts[o])}`)
      .join(' · ');
    $('run-totals').textContent = Object.entries(run.totals).map(([currency, sums]) => t('finance_totals', {
      settled: money(sums.settled, currency), refunded: money(sums.refunded, currency),
      fees: money(sums.fee + sums.tax, currency), net: money(sums.net, currency) })).join(' ');
    $('run-lines').replaceChildren(...lines.map(lineRow));
    $('run-clean').hidden = lines.length > 0;
    $('run').hidden = false;
    $('run-title').focus();
  }

  async function load(position) {
    const runs = await api.get(`/v1/admin/reconciliations${position ? `?min_position=${position}` : ''}`);
    $('runs').replaceChildren(...runs.map(runRow));
    $('runs-empty').hidden = runs.length > 0;
  }

  $('reconcile-form').addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(async () => {
      const file = $('reconcile-file').files[0];
      if (!file) throw new Error(t('finance_file_missing'));
      const form = new FormData();
      form.append('file', file);
      form.append('format', $('reconcile-format').value);
      const run = await api.upload('/v1/admin/reconciliations', form);
      await load(run.position);
      await open(run.run_id, run.position);
      notify(t(run.repeated ? 'finance_already' : 'finance_done', { file: run.file_name }));
    });
  });

  return { load };
}
