// The one UTC stamp (YYYYMMDD-HHMMSS) of atlas-ops: file-name safe and sorting in time order. It
// names backups, reports, kept files and workflow ids; workflows pass their deterministic Date.now().
export function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}
