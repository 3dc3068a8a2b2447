export declare const NEXT_PATCH: 'NEXT_PATCH';
export declare const GDK_FIRST_VERSION: string;
export declare const SUITE_PREFIX: string;
export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly pre: string | null;
}
export declare function parseVersion(text: string): Version | null;
export declare function compare(a: string, b: string): number;
export declare function bump(version: string, kind: 'patch' | 'minor' | 'major'): string;
export declare function compatibleUpper(version: string): string;
export declare function suiteRange(version: string, baseVersion: string): string;
export declare function rewriteRecipe(
  text: string,
  fields: { readonly version: string; readonly publisher: string; readonly range: string },
): { readonly text: string; readonly suiteDependencies: number };
