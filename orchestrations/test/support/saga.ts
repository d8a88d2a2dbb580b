import { randomBytes } from 'node:crypto';

import type { WriteDocument, WriteInput, WriteKind } from '../../src';
import { register } from '../../src';
import type { DriverOptions } from '../../src/testing';
import { createDriver, InMemoryAuditRegister, InMemoryPatientStore, TestPayloadCipher } from '../../src/testing';

/** A patient document with values distinctive enough to search history for. */
export const PATIENT: WriteDocument = {
  firstName: 'Zebulon',
  lastName: 'Quixwortha',
  fullName: 'Zebulon Quixwortha',
  gender: 'male',
  dateOfBirth: '1961-07-23',
  postCode: '9Q7X',
  insuranceNumber: 'INS-778812345',
  preferredContactNumber: '+61 400 918 273',
};

export const TEST_RESULT: WriteDocument = {
  performer: 'Dr Ottoline Vexbridge',
  orderReference: 'ORD-55123987',
  observations: [
    {
      id: 'o1',
      code: 'HBA1C',
      measurement: '48 mmol/mol',
      interpretation: 'borderline',
      status: 'final',
      issued: '2025-02-03',
    },
  ],
};

export function setup(options?: DriverOptions) {
  const store = new InMemoryPatientStore();
  const audit = new InMemoryAuditRegister();
  const cipher = new TestPayloadCipher({ currentKeyId: 'k1', keys: { k1: randomBytes(32) } });
  const driver = createDriver((registrar) => {
    register({ store, audit, cipher }, registrar);
  }, options);
  let counter = 0;

  /** A write input for `kind`, with the document sealed and bound to the operation. */
  const input = (
    kind: WriteKind,
    overrides: { patientId?: string; expectedVersion?: number; document?: WriteDocument } = {},
  ): WriteInput => {
    counter += 1;
    const operationId = `op-${counter}`;
    const patientId = overrides.patientId ?? `patient-${counter}`;
    const base = {
      v: 1 as const,
      operationId,
      patientId,
      actor: { system: 'test-suite', user: 'nurse-7' },
      idempotencyKeyHash: 'ab'.repeat(32),
    };
    const seal = (document: WriteDocument) => cipher.seal(document, operationId);
    switch (kind) {
      case 'createPatient':
        return { ...base, kind, payload: seal(overrides.document ?? PATIENT) };
      case 'updatePatient':
        return {
          ...base,
          kind,
          payload: seal(overrides.document ?? PATIENT),
          ...(overrides.expectedVersion === undefined ? {} : { expectedVersion: overrides.expectedVersion }),
        };
      case 'deletePatient':
        return {
          ...base,
          kind,
          ...(overrides.expectedVersion === undefined ? {} : { expectedVersion: overrides.expectedVersion }),
        };
      case 'createTestResult':
        return { ...base, kind, testId: `test-${counter}`, payload: seal(overrides.document ?? TEST_RESULT) };
    }
  };

  /** Puts an existing patient at version 1. */
  const existing = (patientId = 'patient-existing', document: WriteDocument = { firstName: 'Before' }) => {
    store.seed({ patientId, version: 1, deleted: false, document, lastUpdated: '2025-01-01T00:00:00.000Z' });
    return patientId;
  };

  return { store, audit, cipher, driver, input, existing };
}

/** The activity attempts of a run, by activity name. */
export function attempts(calls: { name: string }[], name: string): number {
  return calls.filter((call) => call.name === name).length;
}
