"use server";
// Generate, on the server: the form posts here, this calls the API with the learner's token, and the
// browser gets back either the accepted generation or the problem's words placed on the fields.
import { idempotencyKey, problemSlug, type Problem } from "@studio-ledger/client";
import { studioClient } from "@/lib/studio";

// `nextKey`: the Idempotency-Key of the form's next submission (made here: crypto.randomUUID exists in
// the browser only on https or localhost).
export type Outcome =
  | { ok: true; nextKey: string; generationId: string; position: number; cost: number }
  | { ok: false; nextKey: string; summary: string; fields: Record<string, string> };

/** The form field a problem names: `variables.topic` and `body.variables.topic` are the field `topic`. */
function fieldOf(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const parts = name.split(".").filter((p) => p !== "body");
  return parts[0] === "variables" && parts[1] ? parts[1] : parts[0];
}

/** Request one image; `key` is the Idempotency-Key of this submission, so a retry is not a second image. */
export async function generate(_previous: Outcome | null, form: FormData): Promise<Outcome> {
  const templateId = String(form.get("template_id") ?? "");
  const key = String(form.get("idempotency_key") || idempotencyKey());
  const variables: Record<string, string> = {};
  for (const [name, value] of form.entries()) {
    if (name.startsWith("var:") && typeof value === "string") variables[name.slice(4)] = value;
  }
  const { data, error } = await studioClient().POST("/v1/generations", {
    params: { header: { "Idempotency-Key": key } },
    body: { template_id: templateId, variables },
  });
  const nextKey = idempotencyKey();
  if (data) return { ok: true, nextKey, generationId: data.generation_id, position: data.position, cost: data.cost };
  const problem = error as Problem & { errors?: { field: string; message: string }[] };
  const fields: Record<string, string> = {};
  for (const each of problem.errors ?? []) {
    const field = fieldOf(each.field);
    if (field && !fields[field]) fields[field] = each.message;
  }
  const named = fieldOf(problem.field);
  if (named && !fields[named]) fields[named] = problem.detail.replace(/^[\w.]+: /, "");
  const summary = problemSlug(problem) === "insufficient-credits"
    ? `You need ${problem.needed} credits for this and have ${problem.available}.`
    : problem.detail;
  return { ok: false, nextKey, summary, fields };
}
