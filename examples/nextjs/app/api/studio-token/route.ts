// A short-lived learner token for the embedded studio page: minted here with the platform's secret,
// which never leaves this server; the frame gets only the token, by postMessage.
import { NextResponse } from "next/server";
import { learner, learnerToken } from "@/lib/studio";

export const dynamic = "force-dynamic";

/** The signed-in learner's token (15 minutes; the frame asks again with studio:session-ended). */
export function POST() {
  return NextResponse.json({ token: learnerToken(learner()) }, { headers: { "Cache-Control": "no-store" } });
}
