// The wallet (available, held, by source, next expiry), its statement in words, and buying credits.

import { ApiError } from './api.js';

const PAGE = 10;

export function setupWallet({ api, i18n, config }) {
  const { t } = i18n;
  const statement = document.getElementById('statement');
  const more = document.getElementById('statement-more');
  const buyNotice = document.getElementById('buy-notice');
  let cursor = null;
  const refreshed = [];

  for (const price of document.querySelectorAll('.pack-price')) {
    price.textContent = i18n.money(Number(price.dataset.minor), price.dataset.currency);
  }
  const rate = document.getElementById('redemption');
  rate.textContent = t('redemption_rate', {
    credits: i18n.number(Number(rate.dataset.credits)),
    price: i18n.money(Number(rate.dataset.minor), rate.dataset.currency, Number(rate.dataset.minor)),
  });

  function signed(value) {
    if (value > 0) return `+${i18n.number(value)}`;
    return value < 0 ? `−${i18n.number(-value)}` : '';
  }

  // A line in the page's language: the server's description is English, so another language says
  // it from the line's type, its generation (template and the learner's text) and its price.
  function words(line) {
    if (config.lang === 'en' && line.description) return line.description;
    const kind = i18n.has(`event_${line.type}`) ? t(`event_${line.type}`) : line.type;
    const about = line.generation;
    if (about) {
      const template = config.templates[about.template_id];
      const name = (about.template_titles || {})[config.lang] || (template ? template.title : about.template_id);
      const text = about.image_deleted ? t('statement_image_deleted') : about.text;
      const subject = text ? `${name}: ${text}` : name;
      const late = String(line.reference).endsWith(':late');
      const note = {
        HoldPlaced: late ? 'statement_charged_late' : null, HoldCaptured: 'statement_charged',
        HoldReleased: 'statement_returned', HoldExpired: 'statement_expired',
      }[line.type];
      if (line.type === 'ShareBonusGranted') return `${kind}: ${subject}`;
      return note ? `${subject} (${t(note)})` : subject;
    }
    const price = line.details && line.details.price;
    return price ? `${kind} · ${i18n.money(price.minor, price.currency)}` : kind;
  }

  function lineItem(line) {
    const li = document.createElement('li');
    const what = document.createElement('span');
    what.className = 'what';
    const text = words(line);
    const said = line.generation && line.generation.text;
    const at = said ? text.indexOf(said) : -1;
    if (at >= 0) {
      // the learner's words in their own direction (Urdu), so the words after them stay in place
      const own = document.createElement('bdi');
      own.textContent = said;
      what.append(text.slice(0, at), own, text.slice(at + said.length));
    } else {
      what.textContent = text;
    }
    const change = document.createElement('span');
    change.className = `change ${line.change > 0 ? 'plus' : 'minus'}`;
    change.textContent = signed(line.change);
    const spent = line.details && line.details.consumed;
    if (!line.change && spent > 0) {
      // The credits left the balance when they were held (the line with the minus); this is the
      // moment they were spent for good: say how many, without counting them twice.
      change.className = 'change spent';
      change.textContent = t('spent_credits', { credits: i18n.number(spent), count: spent });
    }
    const when = document.createElement('span');
    when.className = 'when';
    when.textContent = `${i18n.moment(line.occurred_at)} · ${t('balance_after', { balance: i18n.number(line.balance) })}`;
    li.append(what, change, when);
    return li;
  }

  async function loadStatement(reset, position = 0) {
    let query = reset || !cursor ? `?limit=${PAGE}` : `?limit=${PAGE}&cursor=${cursor}`;
    if (position) query += `&min_position=${position}`;
    const page = await api.get(`/v1/wallet/statement${query}`);
    const items = page.items.map(lineItem);
    if (reset) statement.replaceChildren(...items);
    else statement.append(...items);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    document.getElementById('statement-empty').hidden = statement.children.length > 0;
  }

  // position: a command's ledger position, so that the wallet shown includes what it did.
  async function refresh(position = 0) {
    try {
      const wallet = await api.get(position ? `/v1/wallet?min_position=${position}` : '/v1/wallet');
      document.getElementById('available').textContent = i18n.number(wallet.available);
      document.getElementById('balance-chip').textContent = t('credits_chip', { credits: i18n.number(wallet.available), count: wallet.available });
      const held = document.getElementById('held');
      held.hidden = !wallet.held;
      held.textContent = t('held', { credits: i18n.number(wallet.held) });
      const expiry = document.getElementById('expiry');
      expiry.hidden = !wallet.next_expiry;
      if (wallet.next_expiry) {
        expiry.textContent = t('next_expiry', {
          credits: i18n.number(wallet.next_expiry.credits), date: i18n.day(wallet.next_expiry.expires_at),
          count: wallet.next_expiry.credits,
        });
      }
      const sources = document.getElementById('sources');
      sources.replaceChildren();
      for (const [source, credits] of Object.entries(wallet.by_source || {})) {
        if (!credits) continue;
        const dt = document.createElement('dt');
        dt.textContent = i18n.has(`source_${source}`) ? t(`source_${source}`) : source;
        const dd = document.createElement('dd');
        dd.textContent = i18n.number(credits);
        sources.append(dt, dd);
      }
      await loadStatement(true, position);
      for (const then of refreshed) await then();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }

  more.addEventListener('click', () => loadStatement(false).catch(() => {}));

  function signedIn(user) {
    for (const link of document.querySelectorAll('[data-checkout-pack]')) {
      link.href = config.checkoutUrl
        .replaceAll('{pack_id}', encodeURIComponent(link.dataset.checkoutPack))
        .replaceAll('{user_id}', encodeURIComponent(user));
      link.target = '_top';
    }
  }

  for (const button of document.querySelectorAll('[data-demo-pack]')) {
    button.addEventListener('click', async () => {
      button.disabled = true;
      buyNotice.classList.remove('problem');
      try {
        const bought = await api.post('/v1/dev/purchase', { pack_id: button.dataset.demoPack });
        await refresh(bought.position);
        buyNotice.textContent = t('demo_bought', { credits: i18n.number(Number(button.dataset.credits)), count: Number(button.dataset.credits) });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        buyNotice.classList.add('problem');
        buyNotice.textContent = error.status === 0 ? t('offline') : error.problem.detail || t('something_wrong');
      } finally {
        button.disabled = false;
      }
    });
  }

  // then: called after each refresh of the wallet (the alerts' banner follows the balance).
  return { refresh, signedIn, onRefreshed: (then) => refreshed.push(then) };
}
