/** Newer / Older buttons over keyset pages: `pages` holds the cursors of the pages behind this one. */
export function Pager(props: {
  pages: readonly string[];
  setPages: (pages: readonly string[]) => void;
  /** The next (older) page's cursor; null or absent on the last page. */
  next: string | null | undefined;
}) {
  const { pages, setPages, next } = props;
  return (
    <div class="pager">
      <button type="button" disabled={pages.length === 0} onClick={() => setPages(pages.slice(0, -1))}>
        Newer
      </button>
      <button type="button" disabled={next == null} onClick={() => next != null && setPages([...pages, next])}>
        Older
      </button>
    </div>
  );
}
