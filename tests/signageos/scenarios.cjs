// signageOS's own client, @signageos/sdk 2.11.0, against a running provisio.
//
// `node scenarios.cjs <scenario>` with PROVISIO_SDK_CONFIG (JSON: url, organizationUid, the
// organization and account tokens, another company's organization, device codes) and NODE_PATH
// at the installed SDK. Every call goes through the SDK exactly as an integration makes it; the
// asserts check what the SDK hands back, types included (dates must be `Date`s). The scenario
// prints a JSON summary for the Python side and exits non-zero on the first failed assert.
'use strict';

const assert = require('node:assert/strict');
const { createApiV1, PaginatedList } = require('@signageos/sdk');
const NotFoundError = require('@signageos/sdk/dist/RestApi/Error/NotFoundError').default;
const RequestError = require('@signageos/sdk/dist/RestApi/Error/RequestError').default;

const config = JSON.parse(process.env.PROVISIO_SDK_CONFIG);

function tokenParts(header) {
  const [id, secret] = header.split(':');
  return { id, secret };
}

function client(organizationToken = config.organizationToken) {
  const organization = tokenParts(organizationToken);
  const account = tokenParts(config.accountToken);
  return createApiV1({
    url: config.url,
    version: 'v1',
    organizationAuth: { clientId: organization.id, secret: organization.secret },
    accountAuth: { tokenId: account.id, token: account.secret },
  });
}

function assertDates(entity, ...fields) {
  for (const field of fields) {
    assert.ok(entity[field] instanceof Date, `${field} is ${typeof entity[field]}, not a Date`);
    assert.ok(!Number.isNaN(entity[field].getTime()), `${field} is an invalid Date`);
  }
}

function assertStatus(status) {
  return (error) => {
    assert.ok(error instanceof RequestError, `not a RequestError: ${error}`);
    assert.equal(error.errorCode, status);
    return true;
  };
}

/** Walk a list to its end with getNextPage(); every page but the last is `size` long. */
async function allPages(first, size) {
  assert.ok(first instanceof PaginatedList);
  const pages = [first];
  for (let page = await first.getNextPage(); page !== null; page = await page.getNextPage()) {
    pages.push(page);
  }
  for (const page of pages.slice(0, -1)) {
    assert.equal(page.length, size);
  }
  return pages.flat();
}

const scenarios = {
  async organizations() {
    const api = client();
    const own = await api.organization.get(config.organizationUid);
    assert.equal(own.constructor.name, 'Organization');
    assert.equal(own.uid, config.organizationUid);
    assert.equal(own.title, own.name);
    assertDates(own, 'createdAt');

    const created = await api.organization.create({ name: 'branch-2', title: 'Branch Two' });
    assert.equal(created.name, 'branch-2');
    assert.equal(created.title, 'Branch Two');
    assertDates(created, 'createdAt');
    await api.organization.update(created.uid, { title: 'Branch 2' });
    assert.equal((await api.organization.get(created.uid)).title, 'Branch 2');

    const listed = await api.organization.list();
    assert.deepEqual(
      listed.map((organization) => organization.uid).sort(),
      [own.uid, created.uid].sort(),
    );
    const paged = await allPages(await api.organization.list({ limit: 1 }), 1);
    assert.deepEqual(paged.map((organization) => organization.uid), listed.map((o) => o.uid));

    await assert.rejects(api.organization.get(config.foreignOrganizationUid), NotFoundError);
    return { organizations: listed.length, created: created.uid };
  },

  async tokens() {
    const api = client();
    const token = await api.organization.token.create(config.organizationUid, { name: 'cms' });
    assert.equal(token.name, 'cms');
    assert.match(token.securityToken, /.{16,}/);
    const tokens = await api.organization.token.get(config.organizationUid);
    const listed = tokens.find((entry) => entry.id === token.id);
    assert.deepEqual(
      { id: listed.id, name: listed.name, organizationUid: listed.organizationUid },
      { id: token.id, name: 'cms', organizationUid: config.organizationUid },
    );
    assert.ok(tokens.every((entry) => entry.securityToken === undefined));

    const withToken = client(`${token.id}:${token.securityToken}`);
    assert.equal((await withToken.organizationTag.list()).length, 0);
    await api.organization.token.delete(config.organizationUid, token.id);
    await assert.rejects(withToken.organizationTag.list(), assertStatus(401));
    await assert.rejects(
      api.organization.token.get(config.foreignOrganizationUid),
      NotFoundError,
    );
    return { tokens: tokens.length };
  },

  async tags() {
    const api = client();
    const organizationUid = config.organizationUid;
    const tag = await api.organizationTag.create({ name: 'Lobby', organizationUid, color: '#ff0000' });
    assert.equal(tag.constructor.name, 'OrganizationTag');
    assert.deepEqual(
      { name: tag.name, color: tag.color, organizationUid: tag.organizationUid },
      { name: 'Lobby', color: '#ff0000', organizationUid },
    );
    assertDates(tag, 'createdAt');
    const child = await api.organizationTag.create({
      name: 'Lobby left',
      organizationUid,
      parentTagUid: tag.uid,
    });
    assert.equal((await api.organizationTag.getOne(child.uid)).parentTagUid, tag.uid);

    await api.organizationTag.update(tag.uid, { name: 'Hall', color: '#00ff00' });
    const renamed = await api.organizationTag.getOne(tag.uid);
    assert.deepEqual([renamed.name, renamed.color], ['Hall', '#00ff00']);

    const paged = await allPages(await api.organizationTag.list({ limit: 1 }), 1);
    assert.deepEqual(paged.map((entry) => entry.uid).sort(), [tag.uid, child.uid].sort());

    await api.organizationTag.delete(child.uid);
    await assert.rejects(api.organizationTag.getOne(child.uid), NotFoundError);
    await assert.rejects(api.organizationTag.getOne(config.foreignTagUid), NotFoundError);
    return { tag: tag.uid };
  },

  async policies() {
    const api = client();
    const organizationUid = config.organizationUid;
    const policy = await api.policy.create({ name: 'Night', organizationUid });
    assert.equal(policy.constructor.name, 'Policy');
    assert.equal(policy.name, 'Night');
    assert.deepEqual(policy.items, []);
    assertDates(policy, 'createdAt');

    const items = [
      { type: 'BRIGHTNESS', value: { brightness: 10 } },
      { type: 'VOLUME', applicationType: 'tizen', value: 5 },
    ];
    await api.policy.set(policy.uid, { name: 'Night mode', note: 'dim at 22:00', items });
    const changed = await api.policy.get(policy.uid);
    assert.deepEqual(
      { name: changed.name, note: changed.note, items: changed.items },
      { name: 'Night mode', note: 'dim at 22:00', items },
    );

    const day = await api.policy.create({ name: 'Day', organizationUid });
    const paged = await allPages(await api.policy.list({ limit: 1 }), 1);
    assert.deepEqual(paged.map((entry) => entry.uid), [policy.uid, day.uid]);

    await api.policy.archive(policy.uid);
    assert.deepEqual((await api.policy.list()).map((entry) => entry.uid), [day.uid]);
    const archived = await api.policy.list({ archived: true });
    assert.deepEqual(archived.map((entry) => entry.uid), [policy.uid]);
    assertDates(archived[0], 'createdAt', 'archivedAt');
    await api.policy.unarchive(policy.uid);
    assert.deepEqual((await api.policy.list()).map((entry) => entry.uid), [policy.uid, day.uid]);
    await assert.rejects(api.policy.get(config.foreignPolicyUid), NotFoundError);
    return { policy: policy.uid };
  },

  async locations() {
    const api = client();
    const organizationUid = config.organizationUid;
    const office = await api.location.create({
      name: 'HQ',
      coordinates: { lat: 50.0875, long: 14.4213 },
      customId: 'HQ-1',
      description: 'Head office',
      organizationUid,
    });
    assert.equal(office.constructor.name, 'Location');
    assert.deepEqual(
      { name: office.name, customId: office.customId, description: office.description },
      { name: 'HQ', customId: 'HQ-1', description: 'Head office' },
    );
    assert.equal(office.feature.type, 'Feature');
    assert.deepEqual(office.feature.geometry, { type: 'Point', coordinates: [14.4213, 50.0875] });
    assert.deepEqual(office.attachments, []);
    assertDates(office, 'createdAt', 'updatedAt');

    const shop = await api.location.create({
      name: 'Shop',
      address: 'Václavské náměstí 1, Praha',
      organizationUid,
    });
    assert.equal(shop.feature.properties.address, 'Václavské náměstí 1, Praha');

    await api.location.update(office.uid, { name: 'HQ Praha', description: 'Moved in' });
    const moved = await api.location.get(office.uid);
    assert.deepEqual([moved.name, moved.description], ['HQ Praha', 'Moved in']);
    assert.ok(moved.updatedAt >= moved.createdAt);

    const tag = await api.organizationTag.create({ name: 'Retail', organizationUid });
    await api.locationOrganizationTag.assign(shop.uid, tag.uid);
    assert.deepEqual((await api.location.get(shop.uid)).tagUids, [tag.uid]);
    await api.locationOrganizationTag.unassign(shop.uid, tag.uid);
    assert.deepEqual((await api.location.get(shop.uid)).tagUids, []);

    const paged = await allPages(await api.location.list({ limit: 1 }), 1);
    assert.deepEqual(paged.map((entry) => entry.uid), [office.uid, shop.uid]);

    await api.location.delete(shop.uid);
    await assert.rejects(api.location.get(shop.uid), NotFoundError);
    await assert.rejects(api.location.get(config.foreignLocationUid), NotFoundError);
    return { location: office.uid };
  },

  async devices() {
    const api = client();
    const organizationUid = config.organizationUid;
    const [first, ...others] = config.codes;
    const verification = await api.device.verification.set({ verificationHash: first });
    assert.equal(verification.constructor.name, 'DeviceVerification');
    assert.equal(verification.hash, first);
    assertDates(verification, 'createdAt', 'verifiedAt');
    const read = await api.device.verification.get(verification.uid);
    assert.deepEqual(
      [read.uid, read.deviceUid, read.hash, read.verifiedAt.getTime()],
      [verification.uid, verification.deviceUid, first, verification.verifiedAt.getTime()],
    );
    for (const code of others) {
      await api.device.verification.set({ verificationHash: code });
    }
    await assert.rejects(api.device.verification.set({ verificationHash: first }), assertStatus(409));
    await assert.rejects(api.device.verification.set({ verificationHash: 'ZZZZZZZZ' }), NotFoundError);

    const uid = verification.deviceUid;
    const device = await api.device.get(uid);
    assert.equal(device.constructor.name, 'Device');
    assert.equal(device.organizationUid, organizationUid);
    assert.equal(device.name, `samsung ${device.serialNumber}`);
    assertDates(device, 'createdAt');

    const paged = await allPages(await api.device.list({ limit: 2 }), 2);
    assert.equal(paged.length, config.codes.length);
    assert.ok(paged.some((entry) => entry.uid === uid));

    await api.device.set(uid, { name: 'Lobby screen' });
    assert.equal((await api.device.get(uid)).name, 'Lobby screen');

    const location = await api.location.create({
      name: 'Lobby',
      coordinates: { lat: 1, long: 2 },
      organizationUid,
    });
    await api.deviceLocation.assign(uid, location.uid);
    assert.equal((await api.device.get(uid)).locationUid, location.uid);
    await api.deviceLocation.unassign(uid, location.uid);
    assert.equal((await api.device.get(uid)).locationUid, undefined);

    const policy = await api.policy.create({ name: 'Opening hours', organizationUid });
    await api.device.policy.assign(uid, { uid: policy.uid, priority: 2 });
    const policies = await api.device.policy.list(uid);
    assert.equal(policies.length, 1);
    assert.deepEqual(
      [policies[0].deviceUid, policies[0].policyUid, policies[0].priority],
      [uid, policy.uid, 2],
    );
    assertDates(policies[0], 'assignedAt');
    await api.device.policy.unassign(uid, policy.uid);
    assert.deepEqual(await api.device.policy.list(uid), []);

    await api.device.provisioning.deprovision(uid);
    await assert.rejects(api.device.get(uid), NotFoundError);
    await assert.rejects(api.device.get(config.foreignDeviceUid), NotFoundError);
    return { devices: paged.length, deprovisioned: uid };
  },
};

const scenario = scenarios[process.argv[2]];
if (scenario === undefined) {
  console.error(`unknown scenario ${process.argv[2]}; known: ${Object.keys(scenarios)}`);
  process.exit(2);
}
scenario().then(
  (summary) => console.log(JSON.stringify(summary)),
  (error) => {
    console.error(error && error.stack ? error.stack : error);
    process.exit(1);
  },
);
