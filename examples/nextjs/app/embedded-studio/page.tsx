// The studio's own page in a frame: this platform's origin must be in the studio's STUDIO_EMBED_ORIGINS.
import { publicUrl } from "@/lib/studio";
import { StudioFrame } from "./studio-frame";

export const dynamic = "force-dynamic";

export default function EmbeddedStudio() {
  return (
    <>
      <h1>Studio page, embedded</h1>
      <StudioFrame studioUrl={`${publicUrl()}/`} />
    </>
  );
}
