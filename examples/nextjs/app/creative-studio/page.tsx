// The creative studio as a route of the platform: read on the server with the learner's token,
// the form and its progress in the browser, every call to the API made by this server.
import { idempotencyKey } from "@studio-ledger/client";
import { imageUrl, studioClient } from "@/lib/studio";
import { StudioForm, type FormTemplate } from "./studio-form";

export const dynamic = "force-dynamic"; // the learner's wallet and gallery, never a cached page

export default async function CreativeStudio() {
  const client = studioClient();
  const [templates, wallet, gallery] = await Promise.all([
    client.GET("/v1/templates"),
    client.GET("/v1/wallet"),
    client.GET("/v1/gallery", { params: { query: { limit: 12 } } }),
  ]);
  if (!templates.data) throw new Error(`the studio's templates: HTTP ${templates.response.status}`);
  // A photo template needs an upload first (POST /v1/uploads): this small example leaves those out.
  const offered: FormTemplate[] = templates.data
    .filter((t) => !t.needs_input_image)
    .map((t) => ({ id: t.id, title: t.title, description: t.description, cost: t.cost, variables: t.variables }));
  return (
    <>
      <h1>Creative studio</h1>
      <section aria-labelledby="wallet-heading">
        <h2 id="wallet-heading">Wallet</h2>
        {wallet.data ? (
          <p data-testid="wallet">
            {wallet.data.available} credits available{wallet.data.held ? `, ${wallet.data.held} held` : ""}
          </p>
        ) : (
          <p>The wallet cannot be read just now (HTTP {wallet.response.status}).</p>
        )}
      </section>
      <StudioForm templates={offered} firstKey={idempotencyKey()} />
      <section aria-labelledby="gallery-heading">
        <h2 id="gallery-heading">Gallery</h2>
        {gallery.data?.items.length ? (
          <ul className="gallery">
            {gallery.data.items.map((item) => (
              <li key={item.generation_id}>
                {/* eslint-disable-next-line @next/next/no-img-element -- signed URLs from the studio's host */}
                <img src={imageUrl(item.thumbnail_url ?? item.image_url)} alt={item.title} />
                <p>{item.title}</p>
              </li>
            ))}
          </ul>
        ) : (
          <p>No images yet.</p>
        )}
      </section>
    </>
  );
}
