// Asks before a link signs in another learner than the one signed in: a crafted /#token= link must not
// swap accounts silently (the other account would receive this learner's photos and purchases).

export function confirmSwitch({ t, from, to }) {
  const dialog = document.getElementById('switch-account');
  const yes = document.getElementById('switch-confirm');
  const no = document.getElementById('switch-cancel');
  document.getElementById('switch-body').textContent = t('switch_account_body', { new: to, current: from });
  yes.textContent = t('switch_account_confirm', { new: to });
  no.textContent = t('switch_account_cancel', { current: from });
  return new Promise((resolve) => {
    const close = (answer) => () => dialog.close(answer);
    yes.onclick = close('switch');
    no.onclick = close('stay');
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'switch'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();  // Escape closes it without an answer: the learner stays
    no.focus();  // the safe choice first
  });
}
