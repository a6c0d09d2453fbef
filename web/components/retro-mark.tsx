/** Incidents a retro-hunt found are marked so in the list and the detail page. */
export function RetroMark({ retro }: { retro: boolean }) {
  return retro ? (
    <span class="tag retro" title="Found by a retro-hunt in the query history" data-testid="retro">
      retro
    </span>
  ) : null;
}
