// The site's own MDX component map: lessons from the store can use <AgentLoop> without importing it.
import MDXComponents from "@theme-original/MDXComponents";
import AgentLoop from "@site/src/components/AgentLoop";

export default {
  ...MDXComponents,
  AgentLoop,
};
