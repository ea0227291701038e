import type { ReactNode } from "react";
import "./styles.css";

export const metadata = { title: "Learning platform: dashboard" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header>
          <nav aria-label="Dashboard">
            <a href="/">Dashboard</a> · <a href="/creative-studio">Creative studio</a> ·{" "}
            <a href="/embedded-studio">Studio page, embedded</a>
          </nav>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
