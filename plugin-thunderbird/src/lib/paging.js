// Paginated message lists. Thunderbird hands out MessageLists ({id, messages}) whose further
// pages come from messages.continueList(id) while id is non-null; a list that is left unfinished
// is released with messages.abortList(id) (Thunderbird 120+).

/**
 * Yields each page (an array of MessageHeader) of a message list.
 * @param {object} messenger the `messenger`/`browser` global (or a test double)
 * @param {Promise<object>|object} first the first MessageList, or a promise of it
 */
export async function* pages(messenger, first) {
  let page = await first;
  let finished = false;
  try {
    for (;;) {
      const messages = (page && page.messages) || [];
      if (messages.length) yield messages;
      if (!page || !page.id) {
        finished = true;
        return;
      }
      page = await messenger.messages.continueList(page.id);
    }
  } finally {
    // The consumer stopped early (break, throw): release the list on Thunderbird's side.
    if (!finished && page && page.id && messenger.messages.abortList) {
      try {
        await messenger.messages.abortList(page.id);
      } catch {
        // The list may already be gone; nothing to release then.
      }
    }
  }
}

/** Yields each MessageHeader of a message list, across pages. */
export async function* messagesOf(messenger, first) {
  for await (const page of pages(messenger, first)) {
    for (const m of page) yield m;
  }
}
