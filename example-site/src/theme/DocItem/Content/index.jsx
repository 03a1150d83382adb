// Shows the lesson's summary (from its `<lesson>.summary.md` in the store) above the lesson. The
// panaversity-fs plugin hands summaries to their page in its metadata (`metadata.frontMatter.summary`; the MDX
// module's own front matter is the file's); summaries are never pages of their own.
import React from "react";
import Content from "@theme-original/DocItem/Content";
import { useDoc } from "@docusaurus/plugin-content-docs/client";

function plain(markdown) {
  return String(markdown).replace(/[*_`]/g, "").trim();
}

export default function ContentWithSummary(props) {
  const summary = useDoc().metadata.frontMatter.summary;
  return (
    <>
      {summary ? (
        <div className="alert alert--info margin-bottom--md" role="note" data-testid="lesson-summary">
          <strong>In short: </strong>
          {plain(summary)}
        </div>
      ) : null}
      <Content {...props} />
    </>
  );
}
