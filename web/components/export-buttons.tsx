/** Export the current filter as CSV or NDJSON (the page fetches with the bearer header). */
export function ExportButtons({ exportAs }: { exportAs: (format: 'csv' | 'ndjson') => void }) {
  return (
    <div class="toolbar">
      <button type="button" onClick={() => exportAs('csv')}>
        Export CSV
      </button>
      <button type="button" onClick={() => exportAs('ndjson')}>
        Export NDJSON
      </button>
    </div>
  );
}
