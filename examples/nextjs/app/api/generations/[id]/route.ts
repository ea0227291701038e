// The form's progress: the browser asks this server, which reads the generation with the learner's token.
import { NextResponse, type NextRequest } from "next/server";
import { imageUrl, studioClient } from "@/lib/studio";

export const dynamic = "force-dynamic";

/** The generation's status and, once completed, its image's address. */
export async function GET(request: NextRequest, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const position = Number(request.nextUrl.searchParams.get("position") ?? "0");
  const { data, response } = await studioClient().GET("/v1/generations/{generation_id}", {
    params: { path: { generation_id: id }, query: { min_position: Number.isSafeInteger(position) ? position : 0 } },
  });
  if (!data) {
    // 503: the read tables have not reached the request yet; the browser asks again
    return NextResponse.json({ status: response.status === 503 ? "waiting" : "unknown" },
                             { status: response.status === 503 ? 200 : response.status });
  }
  return NextResponse.json({ status: data.status, reason: data.reason,
                             image_url: data.image_url ? imageUrl(data.image_url) : null });
}
