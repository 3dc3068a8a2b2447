import { join, resolve } from 'node:path';

/**
 * Where the suite's build output goes: build/, never greengrass-build/. gdk empties the greengrass-build/
 * folder beside any gdk-config.json with a recipe before it builds (the root one included), so nothing of
 * the suite's may live there; each gdk project's own greengrass-build/ is gdk's alone.
 */
export const PROJECT_ROOT = resolve(__dirname, '..');
export const BUILD_DIR = join(PROJECT_ROOT, 'build');
export const ARTIFACTS_DIR = join(BUILD_DIR, 'artifacts');
export const GDK_PROJECTS_DIR = join(BUILD_DIR, 'gdk');
export const LOCAL_DEPLOYMENT_DIR = join(BUILD_DIR, 'local-deployment');
export const RELEASE_MANIFEST = join(BUILD_DIR, 'release.json');
/** Beside the zips: the recipes' version they were built at. */
export const ARTIFACTS_VERSION_FILE = 'build-version.json';
