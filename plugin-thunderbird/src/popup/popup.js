// The sender card for the displayed message: history with the sender and the thread's state.
import { renderCard } from "./render.js";

async function main() {
  const root = document.getElementById("card");
  try {
    const [tab] = await messenger.tabs.query({ active: true, currentWindow: true });
    const data = tab ? await messenger.runtime.sendMessage({ command: "card-for-tab", tabId: tab.id }) : null;
    root.replaceChildren(renderCard(document, data));
  } catch (e) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = `Rapport is not reachable: ${(e && e.message) || e}. Is \`rapport install thunderbird\` done?`;
    root.replaceChildren(p);
  }
}

main();
