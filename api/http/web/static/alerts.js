// The banner of the learner's latest alert: credits low, a recharge declined, credits about to lapse. Each
// alert is told once by the API; dismissing it hides that alert on this device.

import { ApiError } from './api.js';

const SHOWN = new Set(['low-balance', 'recharge-declined', 'credits-expiring', 'auto-top-up-failed']);
const DISMISSED = 'studio:dismissed-alert';

export function setupAlerts({ api, i18n, recharge }) {
  const { t } = i18n;
  const banner = document.getElementById('alert-banner');
  const text = document.getElementById('alert-text');
  let latest = null;

  document.getElementById('alert-dismiss').addEventListener('click', () => {
    if (latest) localStorage.setItem(DISMISSED, latest.alert_id);
    banner.hidden = true;
  });
  document.getElementById('alert-recharge').addEventListener('click', () => recharge.open({}));

  async function refresh() {
    let page;
    try {
      page = await api.get('/v1/wallet/alerts?limit=1');
    } catch (error) {
      if (error instanceof ApiError) return;
      throw error;
    }
    latest = page.items[0] || null;
    const show = latest && SHOWN.has(latest.kind) && localStorage.getItem(DISMISSED) !== latest.alert_id;
    banner.hidden = !show;
    if (!show) return;
    const details = latest.details;
    text.textContent = {
      'low-balance': () => t('alert_low_balance', {
        available: i18n.number(details.available), threshold: i18n.number(details.threshold),
      }),
      'recharge-declined': () => t('alert_recharge_declined', { reason: details.reason }),
      'auto-top-up-failed': () => t('alert_auto_top_up_failed', { reason: details.reason }),
      'credits-expiring': () => t('alert_credits_expiring', {
        credits: i18n.number(details.credits), date: i18n.day(details.expires_at),
      }),
    }[latest.kind]();
  }

  return { refresh };
}
