// The studio page: who is signed in, and which view shows (sign in, session ended, the studio).

import { setupAlerts } from './alerts.js';
import { makeApi } from './api.js';
import * as auth from './auth.js';
import { setupComposer } from './compose.js';
import { clearErrors, showErrors } from './errors.js';
import { setupGallery } from './gallery.js';
import { makeI18n } from './i18n.js';
import { setupRecharge } from './recharge.js';
import { setupSettings } from './settings.js';
import { confirmSwitch } from './switch.js';
import { setupWallet } from './wallet.js';

const config = JSON.parse(document.getElementById('studio-config').textContent);
const i18n = makeI18n(config);
const { t } = i18n;
const parent = auth.makeParent(config.embedOrigins);
let token = null;

const api = makeApi({ token: () => token, onUnauthorized: () => end() });
const wallet = setupWallet({ api, i18n, config });
const gallery = setupGallery({ api, i18n, config, onChange: (position) => wallet.refresh(position) });
const recharge = setupRecharge({ api, i18n, onRecharged: () => wallet.refresh() });
const alerts = setupAlerts({ api, i18n, recharge });
const settings = setupSettings({ api, i18n });
wallet.onRefreshed(() => alerts.refresh());
setupComposer({
  api, i18n, config, recharge,
  onFinished: ({ generation, position }) => {
    wallet.refresh(position);
    if (generation) {
      gallery.refresh();
      parent.tell('studio:image-ready', { generation_id: generation.generation_id });
    }
  },
});

function show(view, { focus = true } = {}) {
  document.getElementById('booting').hidden = true;
  for (const id of ['signin', 'ended', 'studio']) document.getElementById(id).hidden = id !== view;
  for (const element of document.querySelectorAll('[data-signed-in]')) element.hidden = view !== 'studio';
  const heading = document.querySelector(`#${view} h1`);
  if (heading && focus && view !== 'studio') heading.focus();
}

function begin(fresh) {
  if (auth.hasExpired(fresh)) {
    end();
    return;
  }
  token = fresh;
  auth.storeToken(fresh);
  const user = auth.claims(fresh).sub;
  document.getElementById('who').textContent = t('signed_in_as', { user });
  wallet.signedIn(user);
  show('studio');
  wallet.refresh();
  settings.refresh();
  gallery.start();
  parent.tell('studio:signed-in', { user_id: user });
}

function end() {
  token = null;
  auth.forgetToken();
  show('ended');
  parent.tell('studio:session-ended');
}

function signOut() {
  token = null;
  auth.forgetToken();
  show('signin');
}

document.getElementById('sign-out').addEventListener('click', signOut);
const again = document.getElementById('sign-in-again');
if (again) again.addEventListener('click', signOut);

const form = document.getElementById('signin-form');
if (form) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors(form);
    const user = form.elements.user_id.value.trim();
    if (!user) {
      showErrors(form, [{ field: 'user_id', text: t('sign_in_needs_user') }], t('error_prefix'));
      return;
    }
    try {
      const answer = await api.post('/v1/dev/token', { user_id: user });
      begin(answer.token);
    } catch (error) {
      const text = error.status === 0 ? t('offline') : error.problem?.detail || t('something_wrong');
      showErrors(form, [{ field: 'user_id', text }], t('error_prefix'));
    }
  });
}

// A token from a link: the same learner's fresh token is taken at once; another learner's only once the
// signed-in learner confirms the switch (cancelling keeps them signed in).
async function offer(fresh) {
  const current = token ?? auth.storedToken();
  const signedIn = current && !auth.hasExpired(current) ? auth.userOf(current) : null;
  const named = auth.userOf(fresh);
  if (!signedIn || named === signedIn) {
    begin(fresh);
    return;
  }
  if (token === null) begin(current);  // their own studio behind the question
  if (auth.hasExpired(fresh)) return;  // a stale or unreadable link for someone else changes nothing
  if (await confirmSwitch({ t, from: signedIn, to: named })) begin(fresh);
}

const linked = auth.takeTokenFromAddress();
window.addEventListener('hashchange', () => {  // the platform hands over a new token without a reload
  const fresh = auth.takeTokenFromAddress();
  if (fresh) offer(fresh);
});
parent.listen((fresh) => begin(fresh));
const stored = auth.storedToken();
if (linked) offer(linked);
else if (stored) begin(stored);
else show('signin', { focus: false });
parent.tell('studio:ready');
