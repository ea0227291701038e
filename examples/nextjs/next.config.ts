import type { NextConfig } from "next";

const config: NextConfig = {
  // The client ships TypeScript sources (clients/typescript/src): Next.js compiles them with the app.
  transpilePackages: ["@studio-ledger/client"],
};

export default config;
