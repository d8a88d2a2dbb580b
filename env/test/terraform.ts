/**
 * Reads the Terraform configuration under env/ the way the tests need it: each directory (root and
 * every module) parsed by @cdktf/hcl2json into plain JSON. References stay as "${...}" strings.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { convertFiles } from '@cdktf/hcl2json';

export const envDir = join(__dirname, '..');
export const repoRoot = join(envDir, '..');

export type Block = Record<string, unknown>;

export interface TerraformDir {
  resource: Record<string, Record<string, Block[]>>;
  module: Record<string, Block[]>;
  output: Record<string, Block[]>;
  variable: Record<string, Block[]>;
  locals: Block;
  ephemeral: Record<string, Record<string, Block[]>>;
}

export async function loadDir(relative: string): Promise<TerraformDir> {
  const json = (await convertFiles(join(envDir, relative))) as Record<string, unknown>;
  const locals = ((json.locals as Block[] | undefined) ?? []).reduce<Block>((all, block) => ({ ...all, ...block }), {});
  return {
    resource: (json.resource ?? {}) as TerraformDir['resource'],
    module: (json.module ?? {}) as TerraformDir['module'],
    output: (json.output ?? {}) as TerraformDir['output'],
    variable: (json.variable ?? {}) as TerraformDir['variable'],
    ephemeral: (json.ephemeral ?? {}) as TerraformDir['ephemeral'],
    locals,
  };
}

/** The single block of a resource, failing clearly when it is missing. */
export function resource(dir: TerraformDir, type: string, name: string): Block {
  const block = dir.resource[type]?.[name]?.[0];
  if (block === undefined) throw new Error(`resource ${type}.${name} is not declared`);
  return block;
}

/** All blocks of one nested block type (e.g. site_config), as an array. */
export function blocks(parent: Block, name: string): Block[] {
  const value = parent[name];
  return Array.isArray(value) ? (value as Block[]) : [];
}

export function block(parent: Block, name: string): Block {
  const found = blocks(parent, name)[0];
  if (found === undefined) throw new Error(`block ${name} is missing`);
  return found;
}

export function moduleCall(dir: TerraformDir, name: string): Block {
  const call = dir.module[name]?.[0];
  if (call === undefined) throw new Error(`module ${name} is not called`);
  return call;
}

export function policyFiles(): Map<string, string> {
  const dir = join(envDir, 'policies');
  return new Map(
    readdirSync(dir)
      .filter((file) => file.endsWith('.xml'))
      .map((file) => [file, readFileSync(join(dir, file), 'utf8')]),
  );
}

/** Every .tf file's text under env/ (for checks that span files, like "no secret in an output"). */
export function allTerraformText(dir = envDir): string {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory())
        return entry.name.startsWith('.') || entry.name === 'test' ? [] : [allTerraformText(path)];
      return entry.name.endsWith('.tf') ? [readFileSync(path, 'utf8')] : [];
    })
    .join('\n');
}
