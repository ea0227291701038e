// A typed walk through the studio: list templates, generate a poster, poll it, read the gallery.
// `tsc` checks it against the generated schema, so an API change that breaks it fails `make test`,
// and tests/e2e/test_typescript_client.py runs it against `studio-ledger serve`.
import { createStudioClient, idempotencyKey, problemSlug, type Problem, type Schemas } from "./index.js";

type Template = Schemas["TemplatePublic"];
type Generation = Schemas["GenerationPublic"];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function makePoster(baseUrl: string, token: string, course: string): Promise<Generation> {
  const client = createStudioClient({ baseUrl, token });

  // 1. Templates (public): pick the first poster and fill its variables from their samples.
  const { data: templates, response: listed } = await client.GET("/v1/templates");
  if (!templates) throw new Error(`templates: HTTP ${listed.status}`);
  const poster: Template | undefined = templates.find((t) => t.category === "poster");
  if (!poster) throw new Error("no poster template");
  const variables: Record<string, string> = Object.fromEntries(poster.variables.map((v) => [v.name, v.sample]));
  const first = poster.variables[0];
  if (first && first.type === "text") variables[first.name] = course.slice(0, first.max_length ?? undefined);  // null for a choice

  // 2. Generate: the cost is held at once; the same Idempotency-Key makes a retry safe.
  const key = idempotencyKey();
  const { data: accepted, error } = await client.POST("/v1/generations", {
    params: { header: { "Idempotency-Key": key } },
    body: { template_id: poster.id, variables },
  });
  if (error) {
    const problem: Problem = error;
    if (problemSlug(problem) === "insufficient-credits") {
      throw new Error(`not enough credits: ${problem.needed} needed, ${problem.available} available`);
    }
    throw new Error(`${problem.field ?? "request"}: ${problem.detail}`);
  }

  // 3. Poll until it is completed or failed; min_position makes the first read see the request.
  for (;;) {
    const { data: generation, error: readError, response } = await client.GET("/v1/generations/{generation_id}", {
      params: { path: { generation_id: accepted.generation_id }, query: { min_position: accepted.position } },
    });
    if (response.status === 503) {
      await sleep(1000 * Number(response.headers.get("Retry-After") ?? "1"));
      continue;
    }
    if (readError) throw new Error(readError.detail);
    if (generation.status === "completed" || generation.status === "failed") {
      // 4. The gallery, newest first, one page at a time with the cursor.
      const { data: page } = await client.GET("/v1/gallery", { params: { query: { limit: 20 } } });
      const shown = page?.items.map((item) => `${item.title}: ${baseUrl}${item.image_url}`) ?? [];
      console.log(shown.join("\n"), page?.next_cursor ? "(more)" : "");
      return generation;
    }
    await sleep(1000);
  }
}
