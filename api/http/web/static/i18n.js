// Strings from the page's catalogue (sent by the server) and numbers, dates and prices in the learner's locale.

export function makeI18n(config) {
  const { messages, locale } = config;
  const numbers = new Intl.NumberFormat(locale);
  const days = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric' });
  // A calendar day (YYYY-MM-DD, the ledger's UTC days) is that day everywhere, not the evening before it west of UTC.
  const calendarDays = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  const moments = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' });

  // `count` picks the `<key>_one` message for exactly one ("1 credit expires"), where the catalogue has one.
  function t(key, values = {}) {
    const text = (values.count === 1 ? messages[`${key}_one`] : undefined) ?? messages[key];
    if (text === undefined) return key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
  }

  // Characters as a learner sees them (grapheme clusters: an emoji family or a conjunct is one), as the API counts.
  const graphemes = typeof Intl.Segmenter === 'function' ? new Intl.Segmenter(locale, { granularity: 'grapheme' }) : null;
  const characters = (text) => (graphemes ? [...graphemes.segment(text)].length : Array.from(text).length);

  return {
    t,
    characters,
    has: (key) => key in messages,
    number: (value) => numbers.format(value),
    day: (iso) => (/^\d{4}-\d{2}-\d{2}$/.test(iso) ? calendarDays : days).format(new Date(iso)),
    moment: (iso) => moments.format(new Date(iso)),
    money: (minor, currency, minorPerMajor = 100) =>
      new Intl.NumberFormat(locale, { style: 'currency', currency }).format(minor / minorPerMajor),
  };
}
