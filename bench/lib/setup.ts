import { connectionWithInstances, createAssignment, type BenchTool } from './tool';

/** The assignment students launch into in the launch benchmark (its connection is never called). */
export async function setupLaunchAssignment(tool: BenchTool): Promise<void> {
  const admin = await tool.ltik('moodle-admin');
  const instances = await connectionWithInstances(tool, admin, 'Unused', 'bench-unused-key', 'http://127.0.0.1:9/v1', 1);
  await createAssignment(tool, 'launch-bench-link', instances, 1);
}
