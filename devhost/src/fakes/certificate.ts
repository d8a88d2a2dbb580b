import { X509Certificate } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { generate } from 'selfsigned';

import { localDir } from '../paths';

/** A self-signed certificate for `localhost` and `127.0.0.1`, and where it is on disk. */
export interface LocalCertificate {
  /** PEM certificate. Child processes trust it through `NODE_EXTRA_CA_CERTS=<certPath>`. */
  cert: string;
  /** PEM private key. */
  key: string;
  certPath: string;
  keyPath: string;
}

const BUNDLE = 'localhost.pem';
const CERT = 'localhost-cert.pem';
const KEY = 'localhost-key.pem';
/** Regenerate when fewer than this many days remain, so a run never straddles the expiry. */
const RENEW_DAYS = 7;

/**
 * The local HTTPS certificate for the fake Key Vault and the fake ingestion endpoint, generated
 * once into `.local/certs` and reused. The Azure SDKs refuse `http://` endpoints (and the Application
 * Insights exporter silently rewrites them to `https://`), so the fakes must speak TLS and the
 * processes that call them must trust this certificate (`NODE_EXTRA_CA_CERTS`, read at process start).
 *
 * Parallel test files may call this at the same time: the key and certificate are written as one
 * bundle with a hard link (first writer wins, atomically), and the separate files are derived from
 * whichever bundle won.
 */
export async function localCertificate(dir: string = localDir('certs')): Promise<LocalCertificate> {
  mkdirSync(dir, { recursive: true });
  const bundlePath = path.join(dir, BUNDLE);
  if (!usable(bundlePath)) {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
      extensions: [
        // A self-signed leaf is its own trust anchor in NODE_EXTRA_CA_CERTS only when marked as a CA.
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
      ],
    });
    const temp = `${bundlePath}.${process.pid}.${Date.now()}`;
    writeFileSync(temp, `${pems.private}\n${pems.cert}`, { mode: 0o600 });
    if (existsSync(bundlePath)) rmSync(bundlePath, { force: true }); // an expired one
    try {
      linkSync(temp, bundlePath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      rmSync(temp, { force: true });
    }
  }
  const bundle = readFileSync(bundlePath, 'utf8');
  const key = pemBlock(bundle, 'PRIVATE KEY');
  const cert = pemBlock(bundle, 'CERTIFICATE');
  const certPath = path.join(dir, CERT);
  const keyPath = path.join(dir, KEY);
  writeIfDifferent(certPath, cert, 0o644);
  writeIfDifferent(keyPath, key, 0o600);
  return { cert, key, certPath, keyPath };
}

function usable(bundlePath: string): boolean {
  if (!existsSync(bundlePath)) return false;
  try {
    const cert = new X509Certificate(pemBlock(readFileSync(bundlePath, 'utf8'), 'CERTIFICATE'));
    return new Date(cert.validTo).getTime() - Date.now() > RENEW_DAYS * 24 * 3600 * 1000;
  } catch {
    return false;
  }
}

function pemBlock(text: string, label: string): string {
  const match = new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`).exec(text);
  if (!match) throw new Error(`No ${label} in the local certificate bundle`);
  return `${match[0]}\n`;
}

/** Writes through a temporary file and a rename, so a concurrent reader never sees half a file. */
function writeIfDifferent(file: string, content: string, mode: number): void {
  if (existsSync(file) && readFileSync(file, 'utf8') === content) return;
  const temp = `${file}.${process.pid}.${Date.now()}`;
  writeFileSync(temp, content, { mode });
  renameSync(temp, file); // atomic replacement on POSIX
}
