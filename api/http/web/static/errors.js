// GOV.UK error pattern: the message above the input it is about, and a summary at the top linking to it.

const PHOTO_FIELDS = ['input_upload_id', 'input_image', 'input_image_url', 'file'];

export function fieldFor(form, name) {
  const field = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (field || !PHOTO_FIELDS.includes(name)) return field;
  return form.querySelector('[data-field="input_upload_id"]');
}

function control(field) {
  return field.querySelector('input, select, textarea');
}

export function clearErrors(form) {
  for (const field of form.querySelectorAll('.field.has-error')) {
    field.classList.remove('has-error');
    const message = field.querySelector('.error-message');
    message.hidden = true;
    message.textContent = '';
    for (const input of field.querySelectorAll('input, select')) {
      input.removeAttribute('aria-invalid');
      const described = (input.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== message.id);
      if (described.length) input.setAttribute('aria-describedby', described.join(' '));
      else input.removeAttribute('aria-describedby');
    }
  }
  const summary = form.querySelector('.error-summary');
  if (summary) {
    summary.hidden = true;
    summary.querySelector('.error-summary-list').replaceChildren();
  }
}

// errors: [{field, text}]; shows each at its field and lists them in the summary, which takes focus.
export function showErrors(form, errors, prefix) {
  const summary = form.querySelector('.error-summary');
  const list = summary.querySelector('.error-summary-list');
  for (const { field: name, text } of errors) {
    const field = fieldFor(form, name);
    const item = document.createElement('li');
    if (field) {
      field.classList.add('has-error');
      const message = field.querySelector('.error-message');
      const hidden = document.createElement('span');
      hidden.className = 'visually-hidden';
      hidden.textContent = `${prefix} `;
      message.replaceChildren(hidden, document.createTextNode(text));
      message.hidden = false;
      const input = control(field);
      for (const each of field.querySelectorAll('input, select')) {
        each.setAttribute('aria-invalid', 'true');
        const described = (each.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
        if (!described.includes(message.id)) each.setAttribute('aria-describedby', [message.id, ...described].join(' '));
      }
      const link = document.createElement('a');
      link.href = `#${input.id}`;
      link.textContent = text;
      link.addEventListener('click', (event) => {
        event.preventDefault();
        input.focus();
        field.scrollIntoView({ block: 'center' });
      });
      item.append(link);
    } else {
      item.textContent = text;
    }
    list.append(item);
  }
  summary.hidden = false;
  summary.focus();
}

export function labelOf(form, name) {
  const field = fieldFor(form, name);
  const label = field && field.querySelector('.label');
  return label ? label.textContent.trim() : name;
}
