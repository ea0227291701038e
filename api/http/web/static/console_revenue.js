// The console's revenue and liability page (the finance role): a month's deferred revenue, sales, revenue
// recognised, breakage and refunds in one currency, the chart the server draws, and each day with its check.

const FIGURES = ['opening_deferred', 'sales', 'recognised', 'breakage', 'refunds', 'clawed_back', 'closing_deferred'];
const LABELS = { opening_deferred: 'console_finance_opening', sales: 'console_finance_sales',
  recognised: 'console_finance_recognised', breakage: 'console_finance_breakage', refunds: 'console_finance_refunds',
  clawed_back: 'console_finance_clawed_back', closing_deferred: 'console_finance_closing' };

export function setupRevenue({ api, i18n, $ }) {
  const { t } = i18n;
  let report = null;

  function thisMonth() {
    return new Date().toISOString().slice(0, 7);
  }

  function nextMonth(month) {
    const [year, number] = month.split('-').map(Number);
    return number === 12 ? `${year + 1}-01` : `${year}-${String(number + 1).padStart(2, '0')}`;
  }

  function money(minor, currency) {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    return i18n.money(minor, currency, 10 ** digits);
  }

  function fact(list, term, value) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    list.append(dt, dd);
  }

  function currencies() {
    return [...new Set(report.months.map((r) => r.currency))].filter((c) => c !== 'free');
  }

  function chooseCurrencies() {
    const select = $('revenue-currency');
    const chosen = select.value;
    const found = currencies();
    select.replaceChildren(...found.map((currency) => new Option(currency, currency)));
    if (found.includes(chosen)) select.value = chosen;
    select.disabled = found.length === 0;
  }

  function verdict(month) {
    const wrong = [...report.days, ...report.months].filter((r) => !r.ties_out).length;
    const named = new Intl.DateTimeFormat(document.documentElement.lang, { month: 'long', year: 'numeric', timeZone: 'UTC' });
    const values = { month: named.format(new Date(`${month}-01T00:00:00Z`)), position: i18n.number(report.as_of_position) };
    return wrong ? t('console_finance_untied', { count: wrong, ...values })
      : t('console_finance_tied', values);
  }

  async function render(month) {
    const currency = $('revenue-currency').value;
    $('revenue-verdict').textContent = verdict(month);
    const figures = $('revenue-figures');
    figures.replaceChildren();
    const free = report.months.find((r) => r.currency === 'free');
    if (free) fact(figures, t('console_finance_free_granted'), i18n.number(free.credits_granted));
    $('revenue-figure').hidden = !currency;
    if (!currency) {
      $('revenue-rows').replaceChildren();
      $('revenue-days-caption').textContent = t('console_finance_no_sales');
      return;
    }
    const row = report.months.find((r) => r.currency === currency);
    for (const name of FIGURES) fact(figures, t(LABELS[name]), money(row[name], currency));
    fact(figures, t('console_finance_outstanding_credits'), i18n.number(row.closing_credits));
    const caption = t('console_finance_chart', { currency });
    $('revenue-caption').textContent = caption;
    $('revenue-days-caption').textContent = t('console_finance_days', { currency });
    const rows = report.days.filter((r) => r.currency === currency).map((day) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = i18n.day(day.period);
      tr.append(th);
      for (const name of FIGURES) {
        const td = document.createElement('td');
        td.textContent = money(day[name], currency);
        tr.append(td);
      }
      const check = document.createElement('td');
      check.textContent = day.ties_out ? t('console_finance_ties_out')
        : t('console_finance_off_by', { amount: money(day.difference, currency) });
      tr.append(check);
      return tr;
    });
    $('revenue-rows').replaceChildren(...rows);
    const query = `from=${month}-01&to=${nextMonth(month)}-01&as_of_position=${report.as_of_position}`;
    const text = await api.text(`/v1/admin/finance/revenue?${query}&format=svg&currency=${encodeURIComponent(currency)}`);
    const svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
    if (svg.nodeName !== 'svg') throw new Error('the chart could not be read');
    svg.removeAttribute('role');
    const chart = document.importNode(svg, true);
    chart.setAttribute('role', 'img');
    chart.setAttribute('aria-labelledby', 'revenue-caption');
    chart.querySelector('title')?.remove();  // the caption names it, in the operator's language
    $('revenue-chart').replaceChildren(chart);
  }

  async function load(month = $('revenue-month').value || thisMonth()) {
    $('revenue-month').value = month;
    report = await api.get(`/v1/admin/finance/revenue?from=${month}-01&to=${nextMonth(month)}-01`);
    chooseCurrencies();
    await render(month);
  }

  return {
    load,
    wire(attempt, showProblems) {
      $('revenue-form').addEventListener('submit', (event) => {
        event.preventDefault();
        const month = $('revenue-month').value;
        if (!/^\d{4}-\d{2}$/.test(month)) {
          showProblems([{ field: 'month', message: t('console_finance_bad_month') }]);
          return;
        }
        attempt(() => load(month));
      });
      $('revenue-currency').addEventListener('change', () => attempt(() => render($('revenue-month').value)));
    },
  };
}
