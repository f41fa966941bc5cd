// Manage a provisio fleet with signageOS's own JavaScript client, unchanged.
//
//   npm install @signageos/sdk@2.11.0 lodash@4.17.21
//   PROVISIO_URL=http://127.0.0.1:8000 \
//   PROVISIO_ORGANIZATION_TOKEN=<id:secret> PROVISIO_ACCOUNT_TOKEN=<id:secret> \
//   SOS_SKIP_DOTENV=1 node signageos_sdk.cjs <verification code shown by the device>
//
// Pairs the device by its code, names it, gives it a location and a policy, then lists the
// organization's devices page by page.
'use strict';

const { createApiV1 } = require('@signageos/sdk');

function auth(header) {
  const [id, secret] = header.split(':');
  return { id, secret };
}

async function main(code) {
  const organization = auth(process.env.PROVISIO_ORGANIZATION_TOKEN);
  const account = auth(process.env.PROVISIO_ACCOUNT_TOKEN);
  const api = createApiV1({
    url: process.env.PROVISIO_URL, // without /v1: the SDK adds the version
    version: 'v1',
    organizationAuth: { clientId: organization.id, secret: organization.secret },
    accountAuth: { tokenId: account.id, token: account.secret },
  });

  const verification = await api.device.verification.set({ verificationHash: code });
  const deviceUid = verification.deviceUid;
  console.log(`paired ${deviceUid} at ${verification.verifiedAt.toISOString()}`);

  await api.device.set(deviceUid, { name: 'Lobby screen' });
  const { organizationUid } = await api.device.get(deviceUid);
  const tag = await api.organizationTag.create({ name: 'Lobby', organizationUid });
  const location = await api.location.create({
    name: 'Head office',
    coordinates: { lat: 50.0875, long: 14.4213 },
    organizationUid,
  });
  await api.locationOrganizationTag.assign(location.uid, tag.uid);
  await api.deviceLocation.assign(deviceUid, location.uid);
  const policy = await api.policy.create({ name: 'Opening hours', organizationUid });
  await api.policy.set(policy.uid, {
    items: [{ type: 'BRIGHTNESS', value: { brightness: 80 } }],
  });
  await api.device.policy.assign(deviceUid, { uid: policy.uid, priority: 1 });

  for (let page = await api.device.list({ limit: 50 }); page; page = await page.getNextPage()) {
    for (const device of page) {
      console.log(`${device.uid} ${device.name} at ${device.locationUid ?? '-'}`);
    }
  }
}

main(process.argv[2]).catch((error) => {
  console.error(error.message);
  process.exit(1);
});
