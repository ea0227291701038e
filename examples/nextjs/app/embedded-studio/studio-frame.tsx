"use client";
// The postMessage hand-over: the studio says studio:ready (or studio:session-ended when a token runs
// out); we fetch a fresh learner token from our server and post it to the studio's origin only.
import { useEffect, useRef, useState } from "react";

export function StudioFrame({ studioUrl }: { studioUrl: string }) {
  const frame = useRef<HTMLIFrameElement>(null);
  const [status, setStatus] = useState("Opening the studio…");
  const [listening, setListening] = useState(false);
  const origin = new URL(studioUrl).origin;

  useEffect(() => {
    async function handOver() {
      const answer = await fetch("/api/studio-token", { method: "POST" });
      if (!answer.ok) {
        setStatus("You could not be signed in to the studio. Reload the page to try again.");
        return;
      }
      const { token } = (await answer.json()) as { token: string };
      frame.current?.contentWindow?.postMessage({ type: "studio:token", token }, origin);
    }
    function onMessage(event: MessageEvent) {
      if (event.origin !== origin || event.source !== frame.current?.contentWindow) return;
      const type = (event.data as { type?: unknown } | null)?.type;
      if (type === "studio:ready" || type === "studio:session-ended") void handOver();
      if (type === "studio:signed-in") setStatus("Signed in to the studio.");
      if (type === "studio:image-ready") setStatus("A new image is in your gallery.");
    }
    window.addEventListener("message", onMessage);
    setListening(true); // the frame loads only now: its studio:ready would otherwise arrive before we listen
    return () => window.removeEventListener("message", onMessage);
  }, [origin]);

  return (
    <>
      <p role="status">{status}</p>
      {listening && <iframe ref={frame} src={studioUrl} title="Creative studio" />}
    </>
  );
}
