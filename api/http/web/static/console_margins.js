// The console's margins (the finance role): per template, revenue recognised against provider cost, as the
// server's chart (SVG, inserted as it is: it carries no script and no inline style) and as a table.

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function firstOfMonth(date, offset = 0) {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + offset, 1));
  return day.toISOString().slice(0, 10);
}

export function setupMargins({ api, i18n, $ }) {
  const { t } = i18n;

  function money(minor, currency) {
    const digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    return i18n.money(minor, currency, 10 ** digits);
  }

  function row(item, currency, { total = false } = {}) {
    const line = document.createElement('tr');
    const name = document.createElement('th');
    name.scope = 'row';
    name.textContent = total ? t('console_margins_total') : item.template_id;
    const cells = [
      i18n.number(item.generations), i18n.number(item.credits_consumed), money(item.revenue_minor, currency),
      money(item.cost_minor, currency), money(item.margin_minor, currency),
      item.margin_percent ? `${i18n.number(Number(item.margin_percent))} %` : '—', i18n.number(item.unknown_cost),
    ].map((text) => {
      const cell = document.createElement('td');
      cell.className = 'num';
      cell.textContent = text;
      return cell;
    });
    if (item.margin_minor < 0) cells[4].classList.add('loss');
    line.append(name, ...cells);
    return line;
  }

  // The chart comes from the server as SVG text in the page's language (an <img> could not send the token).
  async function chart(query) {
    const lang = encodeURIComponent(document.documentElement.lang || 'en');
    const text = await api.text(`/v1/admin/finance/margins/chart?${query}&lang=${lang}`);
    const svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
    if (svg.nodeName !== 'svg' || svg.querySelector('script, foreignObject')) return null;
    return document.importNode(svg, true);
  }

  function range() {
    const from = $('margins-from').value;
    const to = $('margins-to').value;
    if (!DAY.test(from) || !DAY.test(to) || to <= from) {
      const error = new Error(t('console_margins_bad_range'));
      error.problems = [{ field: 'to', message: t('console_margins_bad_range') }];
      throw error;
    }
    return new URLSearchParams({ from, to }).toString();
  }

  async function load() {
    if (!$('margins-from').value) {
      const now = new Date();
      $('margins-from').value = firstOfMonth(now);
      $('margins-to').value = firstOfMonth(now, 1);
    }
    const query = range();
    const report = await api.get(`/v1/admin/finance/margins?${query}`);
    const { currency } = report;
    $('margins-basis').textContent = t('console_margins_basis', {
      currency, rate: report.usd_rates[currency] || '1', position: i18n.number(report.position),
    });
    $('margins-unknown').hidden = report.unknown_cost === 0;
    $('margins-unknown').textContent = t('console_margins_unknown', {
      count: report.unknown_cost, n: i18n.number(report.unknown_cost),
    });
    const rows = report.templates.map((item) => row(item, currency));
    if (!rows.length) {
      const empty = document.createElement('tr');
      const cell = document.createElement('td');
      cell.colSpan = 8;
      cell.className = 'muted';
      cell.textContent = t('console_margins_empty');
      empty.append(cell);
      rows.push(empty);
    }
    $('margins-rows').replaceChildren(...rows);
    $('margins-total').replaceChildren(row(report.total, currency, { total: true }));
    const drawn = await chart(query);
    const figure = $('margins-chart');
    figure.querySelector('svg')?.remove();
    if (drawn) figure.append(drawn);
  }

  return { load };
}
