"""The share page's "Report this image" form, server-rendered so it works before (and without) any JavaScript,
in the GOV.UK pattern: every field labelled, its error right above it, an error summary at the top linking to
the fields; and the key that makes a report from another site's page fail (a forged cross-site form has none)."""

from __future__ import annotations

import hashlib
import hmac
from html import escape

from service.reports import MAX_TEXT, ReportCategory

KEY_WINDOW_S = 3600  # a page's form key is good for this window and the next: reload an older page to report
LABELS = {
    ReportCategory.HATE: "Hate: it attacks people for who they are",
    ReportCategory.HARASSMENT: "Harassment or bullying of someone",
    ReportCategory.SEXUAL: "Sexual content",
    ReportCategory.VIOLENCE: "Violence or threats",
    ReportCategory.SELF_HARM: "Self-harm or suicide",
    ReportCategory.ILLEGAL: "Something illegal",
    ReportCategory.MISLEADING: "Misleading: pretends to be someone or something official",
    ReportCategory.SPAM: "Spam or a scam",
    ReportCategory.OTHER: "Something else",
}
CSS = """.report{{max-width:32rem;margin:1rem auto;text-align:left;background:#1c1c1c;padding:.5rem 1rem}}
.report summary{{cursor:pointer;color:#fbbf24}}.report fieldset{{border:0;padding:0}}.report label{{display:block}}
.report .choice{{display:flex;gap:.5rem;align-items:flex-start;margin:.3rem 0}}.report .choice label{{display:inline}}
.report textarea{{width:100%;min-height:5rem;box-sizing:border-box}}.report .hint{{color:#bbb;font-size:.9rem}}
.report .error{{color:#fca5a5;font-weight:bold}}.report .summary{{border:3px solid #fca5a5;padding:.5rem}}
.report button{{margin:.5rem 0;padding:.5rem 1rem;font-size:1rem}}.sent{{color:#86efac}}
.visually-hidden{{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}}"""


def form_key(secret: bytes, token: str, now: float, *, back: int = 0) -> str:
    """The key a share page's form carries: a digest of its link and the hour it was made."""
    window = int(now // KEY_WINDOW_S) - back
    return hmac.new(secret, f"report-form:{token}:{window}".encode(), hashlib.sha256).hexdigest()[:32]


def key_is_good(secret: bytes, token: str, now: float, given: str) -> bool:
    """Whether ``given`` is the key of a page of ``token`` made this window or the one before."""
    return any(hmac.compare_digest(form_key(secret, token, now, back=back), given) for back in (0, 1))


def report_form(*, token: str, key: str, errors: dict[str, str] | None = None, category: str = "",
                text: str = "", sent: bool = False) -> str:
    """The form's HTML: closed until opened, open when it comes back with errors; a thank-you once sent."""
    if sent:
        return '<p class="sent" role="status">Thank you: your report was sent. Our team will look at it.</p>'
    errors = errors or {}
    summary = ""
    if errors:
        items = "".join(f'<li><a href="#report-{f}">{escape(m)}</a></li>' if f in ("category", "text")
                        else f"<li>{escape(m)}</li>" for f, m in errors.items())
        summary = (f'<div class="summary" role="alert" aria-labelledby="report-problem"><h2 id="report-problem">'
                   f'There is a problem</h2><ul>{items}</ul></div>')
    choices = "".join(
        f'<div class="choice"><input type="radio" name="category" id="report-{"category" if i == 0 else c.value}" '
        f'value="{c.value}"{" checked" if c.value == category else ""}>'
        f'<label for="report-{"category" if i == 0 else c.value}">{escape(label)}</label></div>'
        for i, (c, label) in enumerate(LABELS.items()))
    category_error = _error("category", errors)
    text_error = _error("text", errors)
    return f"""<details class="report"{" open" if errors else ""}><summary>Report this image</summary>
<form method="post" action="/s/{escape(token)}/report" novalidate>{summary}
<fieldset{' aria-describedby="report-category-error"' if category_error else ""}>
<legend>Why are you reporting this image?</legend>{category_error}{choices}</fieldset>
<label for="report-text">What is wrong with it (optional)</label>
<p class="hint" id="report-text-hint">At most {MAX_TEXT} characters. Please do not write your own personal details.</p>
{text_error}<textarea id="report-text" name="text" maxlength="{MAX_TEXT}" aria-describedby="report-text-hint"
>{escape(text)}</textarea>
<input type="hidden" name="form_key" value="{escape(key)}">
<button type="submit">Send report</button></form></details>"""


def _error(field: str, errors: dict[str, str]) -> str:
    if field not in errors:
        return ""
    return f'<p class="error" id="report-{field}-error"><span class="visually-hidden">Error:</span> ' \
           f"{escape(errors[field])}</p>"
