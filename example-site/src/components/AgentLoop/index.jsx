import React, { useState } from "react";
import styles from "./styles.module.css";

const EXPLAIN = {
  Observe: "Read the user's request and the results of earlier steps.",
  Think: "Ask the model what to do next, given what it has observed.",
  Act: "Call the tool (a Python function) the model chose.",
  Check: "Decide whether the task is done or another turn is needed.",
};

/** An interactive diagram of the agent loop, used from MDX lessons as <AgentLoop steps={[...]} />. */
export default function AgentLoop({ steps = ["Observe", "Think", "Act", "Check"], title = "The agent loop" }) {
  const [active, setActive] = useState(0);
  return (
    <figure className={styles.loop} data-testid="agent-loop">
      <figcaption className={styles.title}>{title}</figcaption>
      <ol className={styles.steps}>
        {steps.map((step, i) => (
          <li key={step}>
            <button type="button" className={i === active ? styles.active : styles.step} onClick={() => setActive(i)}>
              {i + 1}. {step}
            </button>
          </li>
        ))}
      </ol>
      <p className={styles.explain}>{EXPLAIN[steps[active]] ?? `Step ${active + 1}: ${steps[active]}`}</p>
    </figure>
  );
}
