"use client";
// The form: a field per template variable, the API's problems on the fields they name (an error
// summary on top linking to them), then the generation's progress until its image is ready.
import { useActionState, useEffect, useState } from "react";
import { useRouter } from "next/navigation";
import type { Schemas } from "@studio-ledger/client";
import { generate, type Outcome } from "./actions";

export type FormTemplate = Pick<Schemas["TemplatePublic"], "id" | "title" | "description" | "cost" | "variables">;
type Progress = { status: string; image_url?: string | null; reason?: string | null };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function StudioForm({ templates, firstKey }: { templates: FormTemplate[]; firstKey: string }) {
  const router = useRouter();
  const [chosen, setChosen] = useState(templates[0]?.id ?? "");
  const [outcome, submit, pending] = useActionState<Outcome | null, FormData>(generate, null);
  const [progress, setProgress] = useState<Progress | null>(null);
  // Controlled fields: React resets an uncontrolled form after its action, which would empty what the
  // learner typed just when a problem asks them to correct one field of it.
  const [values, setValues] = useState<Record<string, string>>({});
  const template = templates.find((t) => t.id === chosen);
  // One Idempotency-Key per submission: a retry of it is not a second image; once answered (a corrected
  // form too) the next submission is another request.
  const key = outcome?.nextKey ?? firstKey;

  useEffect(() => {
    if (!outcome?.ok) return;
    let stopped = false;
    void (async () => {
      setProgress({ status: "requested" });
      for (;;) {
        const answer = await fetch(`/api/generations/${outcome.generationId}?position=${outcome.position}`);
        const read = (await answer.json()) as Progress;
        if (stopped) return;
        if (read.status !== "waiting") setProgress(read);
        if (read.status === "completed" || read.status === "failed" || !answer.ok) break;
        await sleep(1000);
      }
      router.refresh(); // the wallet and the gallery, read again on the server
    })();
    return () => { stopped = true; };
  }, [outcome, router]);

  if (!template) return <p>No templates are offered.</p>;
  const errors = outcome && !outcome.ok ? outcome.fields : {};
  return (
    <section aria-labelledby="form-heading">
      <h2 id="form-heading">Make an image</h2>
      {outcome && !outcome.ok && (
        <div className="error-summary" role="alert" aria-labelledby="error-summary-title">
          <h3 id="error-summary-title">There is a problem</h3>
          <p>{outcome.summary}</p>
          <ul>
            {Object.entries(errors).map(([field, message]) => (
              <li key={field}><a href={`#field-${field}`}>{message}</a></li>
            ))}
          </ul>
        </div>
      )}
      <label htmlFor="template">Template</label>
      <select id="template" value={chosen} onChange={(event) => { setChosen(event.target.value); setValues({}); }}>
        {templates.map((t) => <option key={t.id} value={t.id}>{t.title} ({t.cost} credits)</option>)}
      </select>
      <form action={submit} aria-label={template.title} key={template.id}>
        <p className="hint">{template.description}</p>
        <input type="hidden" name="template_id" value={template.id} />
        <input type="hidden" name="idempotency_key" value={key} />
        {template.variables.map((variable) => {
          const id = `field-${variable.name}`;
          const error = errors[variable.name];
          const value = values[variable.name]
            ?? variable.default ?? (variable.type === "choice" ? variable.choices[0] : variable.type === "color" ? variable.sample : "");
          const change = (next: string) => setValues({ ...values, [variable.name]: next });
          return (
            <div key={variable.name}>
              <label htmlFor={id}>
                {variable.label} <span className="hint">e.g. {variable.sample}</span>
              </label>
              {error && <p className="field-error" id={`${id}-error`}>Error: {error}</p>}
              {variable.type === "choice" ? (
                <select id={id} name={`var:${variable.name}`} value={value} onChange={(event) => change(event.target.value)}>
                  {variable.choices.map((choice) => <option key={choice}>{choice}</option>)}
                </select>
              ) : (
                <input id={id} name={`var:${variable.name}`} type={variable.type === "color" ? "color" : "text"}
                       value={value} onChange={(event) => change(event.target.value)}
                       aria-describedby={error ? `${id}-error` : undefined} aria-invalid={error ? true : undefined} />
              )}
            </div>
          );
        })}
        <button type="submit" disabled={pending}>Generate · {template.cost} credits</button>
      </form>
      {progress && (
        <div role="status" aria-live="polite">
          {progress.status === "completed" && progress.image_url ? (
            <>
              <p>Your image is ready.</p>
              {/* eslint-disable-next-line @next/next/no-img-element -- a signed URL on the studio's host */}
              <img src={progress.image_url} alt={`${template.title}: the new image`} width={320} />
            </>
          ) : progress.status === "failed" ? (
            <p>The image could not be made: {progress.reason}. Its credits were returned.</p>
          ) : (
            <p>Generating: {progress.status}…</p>
          )}
        </div>
      )}
    </section>
  );
}
