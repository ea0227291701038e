export default function Dashboard() {
  return (
    <>
      <h1>Dashboard</h1>
      <p>Two ways to give learners the creative studio:</p>
      <ul>
        <li><a href="/creative-studio">Creative studio</a>: our own route, built on the studio&apos;s TypeScript client.</li>
        <li><a href="/embedded-studio">Studio page, embedded</a>: the studio&apos;s own page in a frame.</li>
      </ul>
    </>
  );
}
