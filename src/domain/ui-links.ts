/**
 * Links into the Temporal Web UI. Pure (workflows put them into reports), so nothing here may
 * touch Node built-ins.
 */
export function temporalUiLink(uiUrl: string, namespace: string, workflowId: string, runId?: string): string {
  const base = `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}
