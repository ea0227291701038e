// "Recharge with wallet": converts platform wallet balance into credits at the policy's rate. The dialog
// shows the balance, an amount prefilled to cover a shortfall (rounded up to whole credits), the credits
// it gives, then the recharge's progress in words as the ledger records it.

import { ApiError, SessionEnded } from './api.js';

const POLL_MS = 1000;
const GIVE_UP_MS = 60000;

export function setupRecharge({ api, i18n, onRecharged }) {
  const { t } = i18n;
  const dialog = document.getElementById('recharge-dialog');
  const form = document.getElementById('recharge-form');
  const amount = document.getElementById('recharge-amount');
  const error = document.getElementById('recharge-amount-error');
  const gives = document.getElementById('recharge-gives');
  const progress = document.getElementById('recharge-progress');
  const confirm = document.getElementById('recharge-confirm');
  const cancel = document.getElementById('recharge-cancel');
  let terms = null;
  let key = null;
  let asked = null;
  let done = () => {};

  const money = (minor) => i18n.money(minor, terms.currency, terms.minor_per_major);
  const creditsFor = (minor) => Math.floor((minor * terms.credits_per_major_unit) / terms.minor_per_major);

  // The amount typed, in minor units; null when it is not a number of the currency's smallest units.
  function minorOf(text) {
    const cleaned = text.trim().replace(/[,\s]/g, '');
    if (!/^\d+(\.\d+)?$/.test(cleaned)) return null;
    const [whole, fraction = ''] = cleaned.split('.');
    const digits = String(terms.minor_per_major).length - 1;
    if (fraction.length > digits) return null;
    return Number(whole) * terms.minor_per_major + Number(fraction.padEnd(digits, '0') || 0);
  }

  function problemOf(minor) {
    if (minor !== null && minor >= terms.min_amount_minor && minor <= terms.max_amount_minor
        && minor % terms.step_minor === 0) return '';
    return t('recharge_amount_invalid', {
      min: money(terms.min_amount_minor), max: money(terms.max_amount_minor), step: money(terms.step_minor),
    });
  }

  function showError(text) {
    error.hidden = !text;
    error.textContent = text;
    amount.setAttribute('aria-invalid', text ? 'true' : 'false');
    amount.closest('.field').classList.toggle('has-error', Boolean(text));
  }

  function update() {
    const minor = minorOf(amount.value);
    if (!error.hidden && !problemOf(minor)) showError('');  // put right: the message goes
    gives.textContent = minor && !problemOf(minor) ? t('recharge_gives', { credits: i18n.number(creditsFor(minor)) }) : '';
    key = null;  // another amount is another recharge
  }

  function say(text, state = '') {
    progress.className = `progress ${state}`;
    progress.textContent = text;
  }

  async function follow(recharge) {
    const started = Date.now();
    let current = recharge;
    while (current.status === 'requested' && Date.now() - started < GIVE_UP_MS) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      current = await api.get(`/v1/wallet/recharges/${recharge.recharge_id}`);
    }
    if (current.status === 'confirmed') {
      say(t('recharge_confirmed', { credits: i18n.number(current.credits) }), 'done');
      cancel.textContent = t('recharge_close');
      asked = null;
      done(current);
    } else if (current.status === 'declined') {
      say(t('recharge_declined', { reason: current.detail }), 'failed');
      asked = null;
    } else {
      say(t('recharge_waiting'));
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const minor = minorOf(amount.value);
    const problem = problemOf(minor);
    showError(problem);
    if (problem) {
      amount.focus();
      return;
    }
    confirm.disabled = true;
    key = key || crypto.randomUUID();
    say(t('recharge_asking', { amount: money(minor) }));
    try {
      asked = await api.post('/v1/wallet/recharges', { amount_minor: minor, currency: terms.currency }, key);
      await follow(asked);
    } catch (failure) {
      if (!(failure instanceof ApiError)) throw failure;
      if (failure instanceof SessionEnded) return;
      const detail = failure.problem.reason || failure.problem.detail;
      if (failure.status === 422 && failure.problem.field) showError(detail);
      else say(failure.status === 0 ? t('offline') : detail || t('something_wrong'), 'failed');
    } finally {
      confirm.disabled = false;
    }
  });
  amount.addEventListener('input', update);
  cancel.addEventListener('click', () => dialog.close());

  // shortfall: the credits missing for what the learner tried; the amount offered covers it.
  async function open({ shortfall = 0, onDone = () => {} } = {}) {
    done = (recharge) => { onRecharged(recharge); onDone(recharge); };
    showError('');
    say('');
    gives.textContent = '';
    try {
      terms = await api.get('/v1/wallet/recharge');
    } catch (failure) {
      if (!(failure instanceof ApiError)) throw failure;
      terms = null;
    }
    const balance = document.getElementById('recharge-balance');
    const usable = Boolean(terms && terms.available);
    amount.closest('.field').hidden = !usable;
    confirm.hidden = !usable;
    cancel.textContent = t(usable ? 'recharge_cancel' : 'recharge_close');
    if (!usable) {
      balance.textContent = t('recharge_unavailable');
    } else {
      balance.textContent = terms.balance_minor === null ? t('recharge_balance_unknown')
        : t(terms.demo ? 'recharge_balance_demo' : 'recharge_balance', { balance: money(terms.balance_minor) });
      document.getElementById('recharge-amount-label').textContent = t('recharge_amount', { currency: terms.currency });
      document.getElementById('recharge-amount-hint').textContent = t('recharge_amount_hint', {
        min: money(terms.min_amount_minor), step: money(terms.step_minor),
        rate: t('recharge_rate', {
          credits: i18n.number(terms.credits_per_major_unit), price: money(terms.minor_per_major),
        }),
      });
      const needed = Math.ceil((Math.max(shortfall, 1) * terms.minor_per_major) / terms.credits_per_major_unit);
      const rounded = Math.ceil(needed / terms.step_minor) * terms.step_minor;
      amount.value = (rounded / terms.minor_per_major).toFixed(String(terms.minor_per_major).length - 1);
      update();
    }
    dialog.showModal();
    (usable ? amount : cancel).focus();
  }

  return { open };
}
