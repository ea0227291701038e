// Controls and images without an accessible name (or alt attribute), as a list of their HTML.
(() => {
  const visible = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const text = (ids) => ids.split(/\s+/).map((id) => document.getElementById(id)?.textContent.trim() || '').join(' ').trim();
  const missing = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, img, iframe')) {
    if (el.closest('[hidden]') || (!visible(el) && el.type !== 'radio')) continue;
    if (el.tagName === 'IMG') {
      if (el.getAttribute('alt') === null) missing.push(el.outerHTML.slice(0, 120));
      continue;
    }
    const name = el.getAttribute('aria-label') || text(el.getAttribute('aria-labelledby') || '')
      || [...(el.labels || [])].map((l) => l.textContent.trim()).join(' ') || el.getAttribute('title')
      || (['BUTTON', 'A'].includes(el.tagName) ? el.textContent.trim() : '');
    if (!name) missing.push(el.outerHTML.slice(0, 120));
  }
  return missing;
})
