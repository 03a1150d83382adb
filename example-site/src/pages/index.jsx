import React from "react";
import Link from "@docusaurus/Link";
import Layout from "@theme/Layout";
import useDocusaurusContext from "@docusaurus/useDocusaurusContext";

export default function Home() {
  const { siteConfig } = useDocusaurusContext();
  return (
    <Layout title={siteConfig.title} description={siteConfig.tagline}>
      <main className="container margin-vert--xl">
        <h1>{siteConfig.title}</h1>
        <p>{siteConfig.tagline}. Every page of the book is read from the store at build time; only changed pages are fetched.</p>
        <p>
          <Link className="button button--primary button--lg" to="/docs/preface">
            Read the book
          </Link>{" "}
          <Link className="button button--secondary button--lg" to="/docs/u/student-42/Foundations/getting-started/why-python-for-ai">
            student-42's personalized book
          </Link>
        </p>
      </main>
    </Layout>
  );
}
