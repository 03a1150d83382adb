/**
 * With the plugin's `showSummaries: true`, the doc footer shows the lesson's summary above the theme's
 * own footer. Installed as a theme component of the plugin (no swizzling); a site's own swizzled
 * DocItem/Footer still wins, and can render `<LessonSummary />` itself.
 */
import { createElement, Fragment, type ReactElement } from "react";
// The footer of the theme that first provided it (theme-classic), as Docusaurus aliases it.
import InitialFooter from "@theme-init/DocItem/Footer";
import { LessonSummary } from "../../../client/summary.js";

export default function DocItemFooter(props: Record<string, unknown>): ReactElement {
  return createElement(Fragment, null, createElement(LessonSummary), createElement(InitialFooter, props));
}
