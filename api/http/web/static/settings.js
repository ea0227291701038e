// The learner's own limits: the low-balance alert, the daily spending limit and auto top-up, saved with
// PUT /v1/wallet/settings. Mistakes are named at their field and in a summary (the GOV.UK pattern), whether
// this page finds them first or the API does.

import { ApiError } from './api.js';
import { clearErrors, showErrors } from './errors.js';

const WHOLE = /^\d{1,9}$/;

export function setupSettings({ api, i18n }) {
  const { t } = i18n;
  const form = document.getElementById('settings-form');
  const input = (name) => form.querySelector(`[name="${name}"]`);
  const notice = document.getElementById('settings-notice');
  const paused = document.getElementById('settings-paused');
  const capHint = document.getElementById('settings-cap-hint');
  const rate = document.getElementById('redemption').dataset;
  const minorPerMajor = Number(rate.minor);
  let limits = { max_daily_cap: 0 };

  const digits = String(minorPerMajor).length - 1;
  const major = (minor) => (minor / minorPerMajor).toFixed(digits);
  function minorOf(text) {
    const cleaned = text.trim().replace(/[,\s]/g, '');
    if (!/^\d{1,9}(\.\d+)?$/.test(cleaned)) return null;
    const [whole, fraction = ''] = cleaned.split('.');
    if (fraction.length > digits) return null;
    return Number(whole) * minorPerMajor + Number(fraction.padEnd(digits, '0') || 0);
  }

  function fill(settings) {
    limits = settings;
    capHint.textContent = t('settings_daily_cap_hint', { max: i18n.number(settings.max_daily_cap) });
    input('low_balance_below').value = String(settings.low_balance_below);
    input('daily_spend_cap').value = settings.daily_spend_cap === null ? '' : String(settings.daily_spend_cap);
    const auto = settings.auto_top_up;
    input('pack_id').value = auto ? auto.pack_id : '';
    input('below').value = auto ? String(auto.below) : '';
    input('monthly_cap').value = auto ? major(auto.monthly_cap_minor) : '';
    paused.hidden = !(auto && auto.paused);
    paused.textContent = auto && auto.paused ? t('settings_paused', { reason: auto.paused }) : '';
  }

  // The body to send, or the mistakes found in the form, each named at its field.
  function read() {
    const errors = [];
    const whole = (name, field, { empty = null, tooHigh = null } = {}) => {
      const text = input(name).value.trim();
      if (!text) return empty;
      if (!WHOLE.test(text)) errors.push({ field, text: t('settings_whole_number') });
      else if (tooHigh !== null && Number(text) > tooHigh) {
        errors.push({ field, text: t('settings_cap_too_high', { max: i18n.number(tooHigh) }) });
      }
      return Number(text);
    };
    const body = {
      low_balance_below: whole('low_balance_below', 'low_balance_below'),
      daily_spend_cap: whole('daily_spend_cap', 'daily_spend_cap', { tooHigh: limits.max_daily_cap }),
      auto_top_up: null,
    };
    const pack = input('pack_id').value;
    if (pack) {
      const below = whole('below', 'auto_top_up.below');
      if (below === null) errors.push({ field: 'auto_top_up.below', text: t('settings_below_required') });
      const monthly = minorOf(input('monthly_cap').value);
      if (!monthly) errors.push({ field: 'auto_top_up.monthly_cap_minor', text: t('settings_monthly_required') });
      body.auto_top_up = { pack_id: pack, below, monthly_cap_minor: monthly };
    }
    return { body, errors };
  }

  // A problem from the API, at the field it names (`body.daily_spend_cap` or `auto_top_up.pack_id`).
  function problemErrors(problem) {
    const named = problem.errors && problem.errors.length ? problem.errors
      : [{ field: problem.field || '', message: problem.detail || t('something_wrong') }];
    return named.map(({ field, message }) => ({ field: String(field).replace(/^body\./, ''), text: message }));
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    notice.textContent = '';
    const { body, errors } = read();
    if (errors.length) {
      showErrors(form, errors, t('error_prefix'));
      return;
    }
    try {
      fill(await api.put('/v1/wallet/settings', body));
      notice.textContent = t('settings_saved');
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 422) showErrors(form, problemErrors(error.problem), t('error_prefix'));
      else notice.textContent = error.status === 0 ? t('offline') : error.message;
    }
  });

  return {
    async refresh() {
      try {
        fill(await api.get('/v1/wallet/settings'));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    },
  };
}
